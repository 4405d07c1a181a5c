# Bug: a message queued while the local agent was down stayed in the queue after the
# agent came back, until some unrelated event triggered a dispatch.
# Cause: the queue manager dispatched when the agent's socket was accepted, before the
# agent's Hello was read; agent_with_room() skips agents without a Hello, so the message
# went back to the waiting list and nothing woke it again.
# Fix: common::ipc::Channel::set_on_hello; the queue manager dispatches the waiting
# messages when the agent's Hello arrives (queue-manager/dispatch.cpp).
import harness


def test_message_queued_while_agent_down_is_delivered_when_it_connects(mb):
    mb.kill("local")
    reply = mb.send("demo@example.test", b"Subject: waiting\r\nMessage-ID: <late-hello@x>\r\n\r\nhi\r\n")
    assert reply.code == 250
    mb.start_daemon("local")
    # Nothing else happens on this server: only the agent's arrival can deliver it.
    mb.wait_for_messages("demo@example.test", 1, timeout=10)
