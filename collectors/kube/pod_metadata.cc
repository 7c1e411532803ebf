#include "collectors/kube/pod_metadata.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

namespace podmeter {
namespace {

using json = nlohmann::json;

// Every access below goes through these helpers: they never throw, whatever the document holds.

const json* Member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const json* Object(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  return v != nullptr && v->is_object() ? v : nullptr;
}

const json* Array(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  return v != nullptr && v->is_array() ? v : nullptr;
}

std::string String(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  return v != nullptr && v->is_string() ? v->get_ref<const std::string&>() : std::string();
}

bool Bool(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

// An integer field clamped to int; nullopt if absent or not an integer.
std::optional<int> Int(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  if (v == nullptr) return std::nullopt;
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  constexpr int64_t kMin = std::numeric_limits<int>::min();
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    return u > static_cast<uint64_t>(kMax) ? static_cast<int>(kMax) : static_cast<int>(u);
  }
  if (v->is_number_integer()) {
    int64_t i = v->get<int64_t>();
    return static_cast<int>(i > kMax ? kMax : (i < kMin ? kMin : i));
  }
  return std::nullopt;
}

std::optional<double> Time(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return ParseRfc3339(v->get_ref<const std::string&>());
}

std::map<std::string, std::string> StringMap(const json& obj, const char* key) {
  std::map<std::string, std::string> out;
  const json* m = Object(obj, key);
  if (m == nullptr) return out;
  for (auto it = m->begin(); it != m->end(); ++it) {
    if (it.value().is_string()) out.emplace(it.key(), it.value().get_ref<const std::string&>());
  }
  return out;
}

void SplitContainerId(std::string_view id, ContainerMeta* out) {
  size_t sep = id.find("://");
  if (sep == std::string_view::npos) {
    out->container_id = std::string(id);
    return;
  }
  std::string_view scheme = id.substr(0, sep);
  if (scheme == "containerd" || scheme == "cri-o" || scheme == "docker") {
    out->runtime = std::string(scheme);
  }
  out->container_id = std::string(id.substr(sep + 3));
}

ContainerMeta ParseContainerStatus(const json& status, bool init) {
  ContainerMeta c;
  c.init = init;
  c.name = String(status, "name");
  SplitContainerId(String(status, "containerID"), &c);
  c.image = String(status, "image");
  c.restart_count = Int(status, "restartCount").value_or(0);
  c.ready = Bool(status, "ready");
  if (const json* state = Object(status, "state")) {
    if (const json* running = Object(*state, "running")) c.started_at = Time(*running, "startedAt");
  }
  if (const json* last = Object(status, "lastState")) {
    if (const json* terminated = Object(*last, "terminated")) {
      c.last_termination_reason = String(*terminated, "reason");
      c.last_exit_code = Int(*terminated, "exitCode");
    }
  }
  return c;
}

void ParseContainerStatuses(const json& status, const char* key, bool init, PodMeta* pod) {
  const json* list = Array(status, key);
  if (list == nullptr) return;
  for (const json& item : *list) {
    if (item.is_object()) pod->containers.push_back(ParseContainerStatus(item, init));
  }
}

// False when the item has no usable metadata.uid.
bool ParsePod(const json& item, PodMeta* pod) {
  const json* meta = Object(item, "metadata");
  if (meta == nullptr) return false;
  pod->uid = String(*meta, "uid");
  if (pod->uid.empty()) return false;
  pod->name = String(*meta, "name");
  pod->namespace_name = String(*meta, "namespace");
  pod->creation_time = Time(*meta, "creationTimestamp");
  pod->labels = StringMap(*meta, "labels");
  pod->annotations = StringMap(*meta, "annotations");
  for (const char* key : {"app.kubernetes.io/name", "app"}) {
    auto it = pod->labels.find(key);
    if (it != pod->labels.end() && !it->second.empty()) {
      pod->app = it->second;
      break;
    }
  }
  if (const json* spec = Object(item, "spec")) pod->node = String(*spec, "nodeName");

  const json* status = Object(item, "status");
  if (status == nullptr) return true;
  pod->phase = String(*status, "phase");
  pod->pod_ip = String(*status, "podIP");
  pod->qos_class = String(*status, "qosClass");
  pod->start_time = Time(*status, "startTime");
  if (const json* conditions = Array(*status, "conditions")) {
    for (const json& cond : *conditions) {
      if (String(cond, "status") != "True") continue;
      std::string type = String(cond, "type");
      if (type == "PodScheduled") {
        pod->scheduled_time = Time(cond, "lastTransitionTime");
      } else if (type == "Ready") {
        pod->ready = true;
        pod->ready_time = Time(cond, "lastTransitionTime");
      }
    }
  }
  ParseContainerStatuses(*status, "containerStatuses", false, pod);
  ParseContainerStatuses(*status, "initContainerStatuses", true, pod);
  return true;
}

// Parses exactly `n` digits at text[*pos]; false if they are not all digits.
bool Digits(std::string_view text, size_t* pos, size_t n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char ch = text[*pos + i];
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, std::string_view any_of) {
  if (*pos >= text.size() || any_of.find(text[*pos]) == std::string_view::npos) return false;
  ++*pos;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

std::optional<double> ParseRfc3339(std::string_view text) {
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, "-") || !Digits(text, &pos, 2, &month) ||
      !Expect(text, &pos, "-") || !Digits(text, &pos, 2, &day) || !Expect(text, &pos, "Tt ") ||
      !Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ":") ||
      !Digits(text, &pos, 2, &minute) || !Expect(text, &pos, ":") ||
      !Digits(text, &pos, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    double scale = 0.1;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int off_hour, off_minute;
    if (!Digits(text, &pos, 2, &off_hour) || !Expect(text, &pos, ":") ||
        !Digits(text, &pos, 2, &off_minute) || off_hour > 23 || off_minute > 59) {
      return std::nullopt;
    }
    offset_seconds = sign * (off_hour * 3600 + off_minute * 60);
  } else {
    return std::nullopt;  // RFC 3339 requires a zone
  }
  if (pos != text.size()) return std::nullopt;
  int64_t seconds =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return static_cast<double>(seconds) + fraction;
}

namespace {

// Keeps, while parsing, only the members ParsePod reads: a PodList's DOM (managedFields, specs,
// volumes, env, big annotations) is several times its text, and no longer built. Paths are
// member names from the root, "[]" standing for an array's elements; "**" keeps the whole value.
class PodListFilter {
 public:
  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    // A key at depth d names a member of the d-th open container; array levels have no key.
    path_.resize(static_cast<size_t>(depth));
    path_[static_cast<size_t>(depth) - 1] = parsed.get<std::string>();
    return Keep();
  }

 private:
  bool Keep() const {
    static const std::vector<std::vector<std::string_view>> kKept = {
        {"kind"},
        {"apiVersion"},
        {"items", "[]", "metadata", "uid"},
        {"items", "[]", "metadata", "name"},
        {"items", "[]", "metadata", "namespace"},
        {"items", "[]", "metadata", "creationTimestamp"},
        {"items", "[]", "metadata", "labels", "**"},
        {"items", "[]", "metadata", "annotations", "podmeter.io/*"},
        {"items", "[]", "metadata", "annotations", "prometheus.io/*"},
        {"items", "[]", "spec", "nodeName"},
        {"items", "[]", "status", "phase"},
        {"items", "[]", "status", "podIP"},
        {"items", "[]", "status", "qosClass"},
        {"items", "[]", "status", "startTime"},
        {"items", "[]", "status", "conditions", "[]", "status"},
        {"items", "[]", "status", "conditions", "[]", "type"},
        {"items", "[]", "status", "conditions", "[]", "lastTransitionTime"},
        {"items", "[]", "status", "containerStatuses", "**"},
        {"items", "[]", "status", "initContainerStatuses", "**"},
    };
    for (const auto& kept : kKept) {
      if (Matches(kept)) return true;
    }
    return false;
  }

  // The path is inside `kept` (a prefix of it) or under a "**" of it.
  bool Matches(const std::vector<std::string_view>& kept) const {
    for (size_t i = 0; i < path_.size(); ++i) {
      if (i >= kept.size()) return false;
      std::string_view want = kept[i];
      if (want == "**") return true;
      if (want == "[]") continue;  // an array level: no key recorded
      if (want.ends_with("*")) {
        if (!path_[i].starts_with(want.substr(0, want.size() - 1))) return false;
      } else if (path_[i] != want) {
        return false;
      }
    }
    return true;
  }

  std::vector<std::string> path_;
};

}  // namespace

StatusOr<std::vector<PodMeta>> ParsePodList(std::string_view text, size_t* skipped) {
  if (skipped != nullptr) *skipped = 0;
  json doc = json::parse(text.begin(), text.end(), PodListFilter(), /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidData("pod list: invalid JSON");
  if (!doc.is_object()) return Status::InvalidData("pod list: not a JSON object");
  const json* kind = Member(doc, "kind");
  if (kind != nullptr && !(kind->is_string() && *kind == "PodList")) {
    return Status::InvalidData("pod list: kind is not PodList");
  }
  const json* items = Member(doc, "items");
  std::vector<PodMeta> pods;
  if (items == nullptr || items->is_null()) {
    // The kubelet encodes an empty list as "items": null.
    if (kind == nullptr) return Status::InvalidData("pod list: no kind and no items");
    return pods;
  }
  if (!items->is_array()) return Status::InvalidData("pod list: items is not an array");
  pods.reserve(items->size());
  for (const json& item : *items) {
    PodMeta pod;
    if (ParsePod(item, &pod)) {
      pods.push_back(std::move(pod));
    } else if (skipped != nullptr) {
      ++*skipped;
    }
  }
  return pods;
}

StatusOr<std::vector<PodMeta>> PodListParser::Parse(std::string_view json, size_t* skipped) {
  const size_t hash = std::hash<std::string_view>{}(json);
  if (last_ && hash == hash_ && json.size() == size_) {
    if (skipped != nullptr) *skipped = last_skipped_;
    return *last_;
  }
  ++parses_;
  size_t n = 0;
  StatusOr<std::vector<PodMeta>> pods = ParsePodList(json, &n);
  if (skipped != nullptr) *skipped = n;
  if (!pods.ok()) {
    last_.reset();
    return pods;
  }
  last_ = pods.value();
  last_skipped_ = n;
  hash_ = hash;
  size_ = json.size();
  return pods;
}

}  // namespace podmeter
