// An HTTP/1.x request head (request line and header lines) parsed from the bytes a client sent:
// pure functions on strings, used by the server (http_server.cc) and unit-tested and fuzzed
// without sockets. Thread-compatible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/http_request.h"

namespace podmeter {

/// The length of the head at the start of `bytes` up to and including its empty line ("\r\n\r\n"
/// or a bare "\n\n"), or 0 while the empty line has not arrived.
size_t HeadLength(std::string_view bytes);

/// A parsed head; its views point into the bytes given to ParseHead.
struct ParsedHead {
  int error = 0;  ///< 0, or the status to answer: 400 (malformed)
  std::string_view method;
  std::string path;  ///< the target's path, percent-decoded, without the query
  std::vector<HttpHeader> headers;

  /// The request as DecideRequest takes it (views into this and the parsed bytes).
  HttpRequest request() const { return HttpRequest{method, path, headers}; }
};

/// Parses "METHOD SP target SP HTTP/1.x" and "Name: value" lines (at most `max_headers`; more
/// is a 400). An absolute target ("http://host/path") gives its path.
ParsedHead ParseHead(std::string_view head, size_t max_headers = 64);

/// %XX decoded (a malformed escape is kept as it is).
std::string PercentDecode(std::string_view s);

}  // namespace podmeter
