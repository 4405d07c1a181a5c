// Typed delivery events (as chasquid's maillog): every line about a message starts with
// its queue id, and uses Postfix's familiar "key=value" shape, so an administrator can
// `grep QUEUEID` through the logs of every process and see the message's whole life.
#pragma once

#include <string_view>

namespace common::maillog {

// smtpd/sendmail: a message entered the queue.
void received(std::string_view queue_id, std::string_view sender, unsigned long long size, std::size_t nrcpt,
              std::string_view client);
// queue-manager: a message was taken into the queue from the drop directory.
void queued(std::string_view queue_id, std::string_view sender, unsigned long long size, std::size_t nrcpt,
            std::string_view origin);
// Delivery agents and the queue manager: one line per recipient and attempt.
void delivered(std::string_view queue_id, std::string_view rcpt, std::string_view relay, double delay_s,
               std::string_view detail);
void deferred(std::string_view queue_id, std::string_view rcpt, std::string_view relay, double delay_s,
              std::string_view detail);
void bounced(std::string_view queue_id, std::string_view rcpt, std::string_view relay, double delay_s,
             std::string_view detail);
// queue-manager: the message is finished and its queue file removed.
void removed(std::string_view queue_id);

}  // namespace common::maillog
