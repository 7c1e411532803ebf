#include "collectors/relay/relay.h"

#include <curl/curl.h>
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <tuple>
#include <utility>

#include "collectors/base/file_util.h"
#include "collectors/http/http_client.h"
#include "collectors/relay/exposition_parser.h"

namespace podmeter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Clock = std::chrono::steady_clock;
using Families = std::vector<MetricFamily>;

constexpr const char* kTargetLabels[] = {"namespace", "pod", "container"};
// Labels a relayed series may not set: the target labels and those the scrape adds.
constexpr const char* kProtectedLabels[] = {"namespace", "pod",      "container",
                                            "job",       "instance", "node"};

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? static_cast<char>(x - 'A' + 'a') : x) == y;
         });
}

const std::string* Annotation(const PodMeta& pod, const std::string& key) {
  auto it = pod.annotations.find(key);
  return it == pod.annotations.end() ? nullptr : &it->second;
}

// A path for a URL: printable ASCII without blanks, starting with '/'.
std::optional<std::string> UrlPath(const std::string* annotation) {
  if (annotation == nullptr || annotation->empty()) return "/metrics";
  for (char c : *annotation) {
    if (c <= ' ' || c >= 0x7f) return std::nullopt;
  }
  return annotation->front() == '/' ? *annotation : "/" + *annotation;
}

// The container whose labels a pod's relayed series get: its first non-init one; null if none.
const ContainerMeta* TargetContainer(const PodMeta& pod) {
  for (const ContainerMeta& container : pod.containers) {
    if (!container.init) return &container;
  }
  return nullptr;
}

// Worth fetching: the pod runs and so does its container (a pending, terminated or waiting one
// refuses connections, which would say nothing).
bool IsRunning(const PodMeta& pod) {
  const ContainerMeta* container = TargetContainer(pod);
  return pod.phase == "Running" && container != nullptr &&
         (container->ready || container->started_at.has_value());
}

// Failures that say nothing about the pod's content: the last good series may stay a while.
bool IsTransportFailure(const std::string& reason) {
  return reason == "connect" || reason == "timeout" || reason == "http_status";
}

}  // namespace

std::vector<RelayTarget> SelectRelayTargets(const std::vector<PodMeta>& pods,
                                            const RelayOptions& options, size_t* no_port) {
  struct Candidate {
    RelayTarget target;
    double created;
  };
  std::vector<Candidate> candidates;
  for (const PodMeta& pod : pods) {
    if (!IsRunning(pod)) continue;  // also: a finished pod's IP may be reused
    std::string prefix;
    if (Annotation(pod, "podmeter.io/scrape") != nullptr) {
      prefix = "podmeter.io/";
    } else if (options.honour_prometheus_annotations &&
               Annotation(pod, "prometheus.io/scrape") != nullptr) {
      prefix = "prometheus.io/";
    } else {
      continue;
    }
    if (!EqualsIgnoreCase(*Annotation(pod, prefix + "scrape"), "true")) continue;
    const std::string* port_text = Annotation(pod, prefix + "port");
    uint64_t port = 0;
    std::optional<std::string> path = UrlPath(Annotation(pod, prefix + "path"));
    if (port_text == nullptr || !ParseUint64(*port_text, &port) || port == 0 || port > 65535 ||
        !path.has_value()) {
      if (no_port != nullptr) ++*no_port;
      continue;
    }
    const std::string& host = options.host_override.empty() ? pod.pod_ip : options.host_override;
    if (host.empty()) continue;  // no IP yet
    Candidate c;
    c.target.uid = pod.uid;
    c.target.namespace_name = pod.namespace_name;
    c.target.pod = pod.name;
    c.target.container = TargetContainer(pod)->name;
    c.target.ready = TargetContainer(pod)->ready;
    c.target.url = "http://" + UrlHost(host) + ":" + std::to_string(port) + *path;
    c.created = pod.creation_time.value_or(0);
    candidates.push_back(std::move(c));
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return std::tie(a.target.namespace_name, a.target.pod, a.created) <
           std::tie(b.target.namespace_name, b.target.pod, b.created);
  });
  std::vector<RelayTarget> out;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const RelayTarget& t = candidates[i].target;
    bool newer_follows = i + 1 < candidates.size() &&
                         candidates[i + 1].target.namespace_name == t.namespace_name &&
                         candidates[i + 1].target.pod == t.pod;
    if (!newer_follows) out.push_back(std::move(candidates[i].target));
  }
  return out;
}

void AddTargetLabels(const RelayTarget& target, std::vector<MetricFamily>* families) {
  const std::string* values[] = {&target.namespace_name, &target.pod, &target.container};
  for (MetricFamily& family : *families) {
    for (ClientMetric& metric : family.metric) {
      std::vector<ClientMetric::Label> out;
      out.reserve(metric.label.size() + 3);
      for (size_t i = 0; i < 3; ++i) out.push_back({kTargetLabels[i], *values[i]});
      auto taken = [&](const std::string& name) {
        auto named = [&](const ClientMetric::Label& l) { return l.name == name; };
        return std::any_of(out.begin(), out.end(), named) ||
               std::any_of(metric.label.begin(), metric.label.end(), named);
      };
      for (ClientMetric::Label& label : metric.label) {
        std::string name = label.name;
        if (std::find(std::begin(kProtectedLabels), std::end(kProtectedLabels), name) !=
            std::end(kProtectedLabels)) {
          do {
            name = "exported_" + name;
          } while (taken(name));
        }
        out.push_back({std::move(name), std::move(label.value)});
      }
      metric.label = std::move(out);
    }
  }
}

bool IsReservedFamily(const std::string& name, const std::vector<std::string>& reserved) {
  return name.rfind("podmeter_", 0) == 0 ||
         std::find(reserved.begin(), reserved.end(), name) != reserved.end();
}

size_t CountSeries(const std::vector<MetricFamily>& families) {
  size_t n = 0;
  for (const MetricFamily& f : families) {
    for (const ClientMetric& m : f.metric) {
      if (f.type == MetricType::Histogram) {
        const auto& b = m.histogram.bucket;
        bool has_inf = !b.empty() && std::isinf(b.back().upper_bound);
        n += b.size() + (has_inf ? 0 : 1) + 2;
      } else if (f.type == MetricType::Summary) {
        n += m.summary.quantile.size() + 2;
      } else {
        ++n;
      }
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------

struct Relay::Impl {
  struct Outcome {
    bool ok = false;
    std::string reason;  // on failure; "" if interrupted
    std::shared_ptr<const Families> families;
    double seconds = 0;
  };
  struct PodState {
    std::shared_ptr<const Families> families;  // last good, without pod labels; null: none
    int consecutive_failures = 0;
  };

  ~Impl() {
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  bool KeepFamily(const std::string& name) const {
    if (!allow.has_value() && !deny.has_value()) return true;
    // std::regex may throw on pathological input (error_complexity, error_stack): drop then.
    try {
      if (allow.has_value() && !std::regex_match(name, *allow)) return false;
      if (deny.has_value() && std::regex_match(name, *deny)) return false;
      return true;
    } catch (const std::regex_error&) {
      return false;
    }
  }

  // One target's fetch: the body goes into the parser as it arrives (never held whole), and a
  // malformed line or one series too many ends the transfer there.
  struct Transfer {
    CURL* easy = nullptr;
    CurlBody body;
    std::unique_ptr<ExpositionParser> parser;
    char errbuf[CURL_ERROR_SIZE] = {};
    size_t index = 0;
  };

  // Fetches and parses every target in parallel; false if interrupted by Stop.
  bool FetchAll(const std::vector<RelayTarget>& targets, std::vector<Outcome>* outcomes);
  // Sets up the transfer of targets[index] and adds it to `multi`; null (with the outcome's
  // reason set) when it cannot be.
  std::unique_ptr<Transfer> StartTransfer(const RelayTarget& target, size_t index,
                                          const ExpositionLimits& limits, curl_slist* headers,
                                          Outcome* outcome);
  // Collects the transfers that finished; returns how many.
  size_t CollectFinished(Clock::time_point start, std::vector<Outcome>* outcomes);
  // The updated state and this round's result of one pod; its series go into `merged`.
  void ApplyOutcome(const RelayTarget& target, Outcome& outcome, PodState* pod_state,
                    RelayPodResult* result, std::map<std::string, MetricFamily>* merged);
  // The outcome of a finished transfer whose body went into `parser`.
  void Finish(CURL* easy, CURLcode code, const CurlBody& body, ExpositionParser* parser,
              Clock::time_point start, Outcome* outcome) const;
  // One round; null if interrupted.
  std::shared_ptr<const RelaySnapshot> Round();

  RelayOptions options;
  MetadataFn metadata;
  std::optional<std::regex> allow;
  std::optional<std::regex> deny;
  CURLM* multi = nullptr;
  std::atomic<bool> stopping{false};

  std::mutex round_mutex;                 // serializes rounds; guards the fields below
  std::map<std::string, PodState> state;  // by pod uid
  std::map<std::string, uint64_t> errors;
  uint64_t rounds = 0;
  size_t round_bytes = 0;     // body bytes received in the current round
  size_t round_reserved = 0;  // families dropped this round as podmeter's own (IsReservedFamily)
};

// Past this many body bytes in a round, the memory freed by the round (parsers, refused
// families, partial lines) is handed back to the kernel: glibc keeps freed heap pages, so a round
// of big or hostile bodies would otherwise stay in podmeter's RSS (measured: +1 MiB without,
// +0.1 MiB with).
constexpr size_t kTrimAfterBytes = size_t{1} << 20;

void Relay::Impl::Finish(CURL* easy, CURLcode code, const CurlBody& body, ExpositionParser* parser,
                         Clock::time_point start, Outcome* outcome) const {
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (code == CURLE_ABORTED_BY_CALLBACK && stopping.load()) {
    outcome->reason.clear();  // interrupted
  } else if ((code == CURLE_OK || body.refused) && status != 200) {
    outcome->reason = "http_status";
  } else if (body.refused) {
    outcome->reason = parser->over_limit() ? "series_limit" : "parse";
  } else if (code != CURLE_OK) {
    outcome->reason = CurlFailureReason(code, body);
  } else {
    StatusOr<Families> parsed = parser->Finish();
    if (parsed.ok()) {
      outcome->ok = true;
      outcome->families = std::make_shared<const Families>(std::move(parsed.value()));
    } else {
      outcome->reason = parser->over_limit() ? "series_limit" : "parse";
    }
  }
  outcome->seconds = SecondsSince(start);
}

std::unique_ptr<Relay::Impl::Transfer> Relay::Impl::StartTransfer(const RelayTarget& target,
                                                                  size_t index,
                                                                  const ExpositionLimits& limits,
                                                                  curl_slist* headers,
                                                                  Outcome* outcome) {
  auto t = std::make_unique<Transfer>();
  t->index = index;
  t->body.max_bytes = options.max_body_bytes;
  t->body.interrupted = &stopping;
  t->parser = std::make_unique<ExpositionParser>(limits);
  t->easy = curl_easy_init();
  if (t->easy == nullptr) {
    outcome->reason = "connect";
    return nullptr;
  }
  SetCommonCurlOptions(t->easy, target.url, "http", options.timeout, options.timeout, &t->body,
                       t->errbuf);
  curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "podmeter-relay");
  curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t.get());
  t->body.on_data = [easy = t->easy, parser = t->parser.get()](std::string_view data) {
    long status = 0;  // known once the headers are in, before any body
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    return status == 200 && parser->Feed(data);  // not 200: stop reading an error page
  };
  if (curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
    curl_easy_cleanup(t->easy);
    outcome->reason = "connect";
    return nullptr;
  }
  return t;
}

size_t Relay::Impl::CollectFinished(Clock::time_point start, std::vector<Outcome>* outcomes) {
  size_t finished = 0;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode code = msg->data.result;
    char* priv = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    auto* t = reinterpret_cast<Transfer*>(priv);
    round_bytes += t->body.received;
    Finish(easy, code, t->body, t->parser.get(), start, &(*outcomes)[t->index]);
    t->parser.reset();
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    t->easy = nullptr;
    ++finished;
  }
  return finished;
}

bool Relay::Impl::FetchAll(const std::vector<RelayTarget>& targets,
                           std::vector<Outcome>* outcomes) {
  ExpositionLimits limits;
  limits.max_series = options.max_series_per_pod;
  limits.keep_family = [this](const std::string& name) {
    if (IsReservedFamily(name, options.reserved_families)) {
      ++round_reserved;
      return false;
    }
    return KeepFamily(name);
  };
  const Clock::time_point start = Clock::now();
  outcomes->assign(targets.size(), Outcome());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(
      curl_slist_append(nullptr, "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1"),
      &curl_slist_free_all);
  std::vector<std::unique_ptr<Transfer>> transfers;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto t = StartTransfer(targets[i], i, limits, headers.get(), &(*outcomes)[i]);
    if (t) transfers.push_back(std::move(t));
  }
  // Every transfer has its own timeout; the deadline only guards against a stuck loop.
  size_t pending = transfers.size();
  const Clock::time_point deadline = start + options.timeout + std::chrono::seconds(1);
  while (pending > 0 && !stopping.load() && Clock::now() < deadline) {
    int running = 0;
    curl_multi_perform(multi, &running);
    pending -= CollectFinished(start, outcomes);
    if (pending > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  for (auto& t : transfers) {
    if (t->easy == nullptr) continue;
    round_bytes += t->body.received;
    curl_multi_remove_handle(multi, t->easy);
    curl_easy_cleanup(t->easy);
    t->easy = nullptr;
    (*outcomes)[t->index].reason = "timeout";
    (*outcomes)[t->index].seconds = SecondsSince(start);
  }
  return !stopping.load();
}

void Relay::Impl::ApplyOutcome(const RelayTarget& target, Outcome& outcome, PodState* pod_state,
                               RelayPodResult* result,
                               std::map<std::string, MetricFamily>* merged) {
  result->target = target;
  result->duration_seconds = outcome.seconds;
  if (outcome.ok) {
    result->up = true;
    pod_state->families = std::move(outcome.families);
    pod_state->consecutive_failures = 0;
  } else {
    if (target.ready) ++errors[outcome.reason];  // else it may not listen yet: not an error
    result->error = outcome.reason;
    ++pod_state->consecutive_failures;
    if (!IsTransportFailure(outcome.reason) ||
        pod_state->consecutive_failures > options.keep_last_good_failures) {
      pod_state->families.reset();
    }
  }
  result->consecutive_failures = pod_state->consecutive_failures;
  if (pod_state->families == nullptr) return;
  result->series = CountSeries(*pod_state->families);
  Families labelled = *pod_state->families;
  AddTargetLabels(target, &labelled);
  for (MetricFamily& family : labelled) {
    auto [it, inserted] = merged->try_emplace(family.name);
    if (inserted) {
      it->second = std::move(family);
    } else if (it->second.type != family.type) {
      ++errors["type_conflict"];
    } else {
      std::move(family.metric.begin(), family.metric.end(), std::back_inserter(it->second.metric));
    }
  }
}

std::shared_ptr<const RelaySnapshot> Relay::Impl::Round() {
  std::lock_guard<std::mutex> lock(round_mutex);
  const Clock::time_point start = Clock::now();
  std::shared_ptr<const std::vector<PodMeta>> pods = metadata ? metadata() : nullptr;
  size_t no_port = 0;
  std::vector<RelayTarget> targets;
  if (pods != nullptr) targets = SelectRelayTargets(*pods, options, &no_port);
  std::vector<Outcome> outcomes;
  round_bytes = 0;
  round_reserved = 0;
  bool complete = FetchAll(targets, &outcomes);
  if (round_bytes >= kTrimAfterBytes) malloc_trim(0);
  if (!complete) return nullptr;

  errors["no_port"] += no_port;
  errors["reserved_family"] += round_reserved;
  auto snapshot = std::make_shared<RelaySnapshot>();
  std::map<std::string, PodState> next;  // pods no longer targeted are forgotten
  std::map<std::string, MetricFamily> merged;
  for (size_t i = 0; i < targets.size(); ++i) {
    PodState pod_state;
    if (auto it = state.find(targets[i].uid); it != state.end()) {
      pod_state = std::move(it->second);
    }
    RelayPodResult result;
    ApplyOutcome(targets[i], outcomes[i], &pod_state, &result, &merged);
    snapshot->pods.push_back(std::move(result));
    next[targets[i].uid] = std::move(pod_state);
  }
  state = std::move(next);
  snapshot->families.reserve(merged.size());
  for (auto& [name, family] : merged) snapshot->families.push_back(std::move(family));
  snapshot->errors = errors;
  snapshot->rounds = ++rounds;
  snapshot->round_seconds = SecondsSince(start);
  return snapshot;
}

// ---------------------------------------------------------------------------------------------

Relay::Relay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Relay::~Relay() { Stop(); }

void Relay::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void Relay::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  impl_->stopping.store(true);
  curl_multi_wakeup(impl_->multi);
  thread_.join();
  impl_->stopping.store(false);
}

void Relay::RoundOnce() {
  std::shared_ptr<const RelaySnapshot> snapshot = impl_->Round();
  if (snapshot == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  latest_ = std::move(snapshot);
}

std::shared_ptr<const RelaySnapshot> Relay::Latest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_;
}

void Relay::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    lock.unlock();
    Clock::time_point next = Clock::now() + impl_->options.interval;
    RoundOnce();
    lock.lock();
    wake_.wait_until(lock, next, [this] { return stop_; });
  }
}

StatusOr<std::unique_ptr<Relay>> NewRelay(RelayOptions options, Relay::MetadataFn metadata) {
  if (options.timeout.count() <= 0) return Status::InvalidData("relay: timeout must be > 0");
  if (options.interval.count() <= 0) return Status::InvalidData("relay: interval must be > 0");
  if (options.max_series_per_pod == 0) {
    return Status::InvalidData("relay: max series per pod must be > 0");
  }
  if (options.max_body_bytes == 0) return Status::InvalidData("relay: max body bytes must be > 0");
  if (options.keep_last_good_failures < 0) {
    return Status::InvalidData("relay: keep_last_good_failures must be >= 0");
  }
  auto impl = std::make_unique<Relay::Impl>();
  const std::pair<const std::string*, std::optional<std::regex>*> regexes[] = {
      {&options.allow_regex, &impl->allow}, {&options.deny_regex, &impl->deny}};
  for (const auto& [pattern, compiled] : regexes) {
    if (pattern->empty()) continue;
    try {
      compiled->emplace(*pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Status::InvalidData(std::string("relay: bad ") +
                                 (pattern == &options.allow_regex ? "allow" : "deny") +
                                 " regex: " + e.what());
    }
  }
  InitCurlOnce();
  impl->multi = curl_multi_init();
  if (impl->multi == nullptr) return Status::Unavailable("curl_multi_init failed");
  impl->options = std::move(options);
  impl->metadata = std::move(metadata);
  for (const char* reason : kRelayErrorReasons) impl->errors[reason] = 0;
  return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

}  // namespace podmeter
