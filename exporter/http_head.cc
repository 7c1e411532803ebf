#include "exporter/http_head.h"

namespace podmeter {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c <= ' ' || c >= 127 || c == ':' || c == '(' || c == ')' || c == '"' || c == '/') {
      return false;
    }
  }
  return true;
}

// The request line's target as a path: "/a?b" → "/a", "http://h:1/a" → "/a", "*" stays.
std::string_view TargetPath(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) == scheme) {
      target.remove_prefix(scheme.size());
      size_t slash = target.find('/');
      target = slash == std::string_view::npos ? "/" : target.substr(slash);
      break;
    }
  }
  return target.substr(0, target.find_first_of("?#"));
}

// "METHOD SP target SP HTTP/1.x" into `out`; false when malformed.
bool ParseRequestLine(std::string_view line, ParsedHead* out) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() || version.substr(0, 7) != "HTTP/1.") return false;
  out->method = method;
  out->path = PercentDecode(TargetPath(target));
  return true;
}

}  // namespace

size_t HeadLength(std::string_view bytes) {
  for (size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1)) {
    if (i + 1 < bytes.size() && bytes[i + 1] == '\n') return i + 2;
    if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') return i + 3;
  }
  return 0;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int hi = s[i] == '%' && i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
    int lo = hi >= 0 ? HexValue(s[i + 2]) : -1;
    if (lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

ParsedHead ParseHead(std::string_view head, size_t max_headers) {
  ParsedHead out;
  size_t eol = head.find('\n');
  if (eol == std::string_view::npos || !ParseRequestLine(Trim(head.substr(0, eol)), &out)) {
    out.error = 400;
    return out;
  }
  for (size_t start = eol + 1; start < head.size(); start = eol + 1) {
    eol = head.find('\n', start);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(start, eol - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the end of the head
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon)) ||
        out.headers.size() >= max_headers) {
      out.error = 400;  // also a folded line (it starts with a blank)
      return out;
    }
    out.headers.push_back({line.substr(0, colon), Trim(line.substr(colon + 1))});
  }
  return out;
}

}  // namespace podmeter
