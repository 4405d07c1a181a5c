// RAII for libevent objects, plus the two loop helpers every daemon uses: run_soon()
// (defer work, and above all deletion, to the next loop turn, so that an object is never
// destroyed inside its own callback) and the termination signal handler.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <functional>
#include <memory>

namespace common::io {

struct EventBaseFree {
  void operator()(event_base* b) const { event_base_free(b); }
};
struct EventFree {
  void operator()(event* e) const { event_free(e); }
};
struct BufferEventFree {
  void operator()(bufferevent* b) const { bufferevent_free(b); }
};
struct ListenerFree {
  void operator()(evconnlistener* l) const { evconnlistener_free(l); }
};
struct EvBufferFree {
  void operator()(evbuffer* b) const { evbuffer_free(b); }
};

using EventBasePtr = std::unique_ptr<event_base, EventBaseFree>;
using EventPtr = std::unique_ptr<event, EventFree>;
using BufferEventPtr = std::unique_ptr<bufferevent, BufferEventFree>;
using ListenerPtr = std::unique_ptr<evconnlistener, ListenerFree>;
using EvBufferPtr = std::unique_ptr<evbuffer, EvBufferFree>;

EventBasePtr new_event_base();

// Runs `fn` on the next turn of the loop (muduo's deferred-close pattern).
void run_soon(event_base* base, std::function<void()> fn);
// Runs `fn` once, `seconds` from now (a held reply). Like run_soon, the callback must
// check that what it touches still exists.
void run_after(event_base* base, double seconds, std::function<void()> fn);

// Installs SIGTERM/SIGINT handlers that leave the loop (event_base_loopexit) and ignores
// SIGPIPE. The returned events must live as long as the loop.
struct SignalEvents {
  EventPtr term, intr, pipe_;
};
SignalEvents install_termination_handlers(event_base* base);

timeval to_timeval(double seconds);

}  // namespace common::io
