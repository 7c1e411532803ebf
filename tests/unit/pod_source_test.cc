// The pod sources and the poller: the kubelet/API server sources against a local HTTPS server
// (tests/unit/fake_kubelet.py, self-signed certificate made with the openssl CLI), the file
// source on a temp file, and the poller with an in-memory source. Only 127.0.0.1 traffic.
#include "collectors/kube/pod_source.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

#include "collectors/base/file_util.h"
#include "tests/unit/test_support.h"

extern char** environ;

namespace podmeter {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::Child;
using testing::TempDir;
using testing::WaitUntil;
using Clock = std::chrono::steady_clock;

const std::string kFixture = std::string(PODMETER_FIXTURES_DIR) + "/podlists/kubelet_pods.json";
const std::string kFakeKubelet = std::string(PODMETER_FIXTURES_DIR) + "/../unit/fake_kubelet.py";
const char kToken[] = "t0ken-for-podmeter-tests";

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Writes `content` next to `path` and renames it over `path`, as the lab does.
void ReplaceFile(const std::string& path, const std::string& content) {
  WriteFile(path + ".new", content);
  fs::rename(path + ".new", path);
}

int Run(const std::vector<std::string>& argv) {
  Child child(argv, /*quiet=*/true);
  return child.started() ? child.Wait() : -1;
}

// A self-signed certificate for 127.0.0.1; also its own CA.
bool MakeCertificate(const std::string& cert, const std::string& key) {
  return Run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
              "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"}) == 0;
}

// Starts fake_kubelet.py with fresh certificates; the server and the files go with the fixture.
class PodSourceKubeletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(MakeCertificate(dir_ / "cert.pem", dir_ / "key.pem"));
    ASSERT_TRUE(MakeCertificate(dir_ / "other-ca.pem", dir_ / "other-key.pem"));
    WriteFile(dir_ / "token", std::string(kToken) + "\n");
    SetMode("ok");
    server_ = std::make_unique<Child>(
        std::vector<std::string>{"python3", kFakeKubelet, "--cert", dir_ / "cert.pem", "--key",
                                 dir_ / "key.pem", "--token", kToken, "--podlist", kFixture,
                                 "--mode-file", dir_ / "mode", "--port-file", dir_ / "port",
                                 "--huge-bytes", std::to_string(2 << 20)},
        /*quiet=*/false);
    ASSERT_TRUE(server_->started());
    for (int i = 0; i < 500 && port_ == 0; ++i) {
      StatusOr<std::string> port = ReadFileToString(dir_ / "port");
      if (port.ok()) {
        port_ = std::atoi(port->c_str());
        break;
      }
      ASSERT_TRUE(server_->Running()) << "fake_kubelet.py exited";
      std::this_thread::sleep_for(milliseconds(20));
    }
    ASSERT_GT(port_, 0) << "fake_kubelet.py did not start";
  }
  void TearDown() override { server_.reset(); }  // before dir_ goes

  void SetMode(const std::string& mode) { ReplaceFile(dir_ / "mode", mode); }
  std::string BaseUrl() const { return "https://127.0.0.1:" + std::to_string(port_); }

  PodSourceOptions KubeletOptions() const {
    PodSourceOptions o;
    o.kind = PodSourceOptions::Kind::kKubelet;
    o.kubelet_url = BaseUrl() + "/pods";
    o.token_file = dir_ / "token";
    o.ca_file = dir_ / "cert.pem";
    // Not what these tests test (StallHitsTimeout sets its own): long enough that a loaded
    // machine never turns a slow TLS handshake or answer into "timeout" or "connect".
    o.timeout = milliseconds(5000);
    o.connect_timeout = milliseconds(5000);
    o.max_body_bytes = 1 << 20;
    return o;
  }

  static std::unique_ptr<PodMetadataPoller> Poller(const PodSourceOptions& o) {
    StatusOr<std::unique_ptr<PodSource>> source = NewPodSource(o);
    EXPECT_TRUE(source.ok()) << source.status().message();
    if (!source.ok()) return nullptr;
    return std::make_unique<PodMetadataPoller>(std::move(source.value()), o.interval);
  }

  static uint64_t TotalErrors(const PodMetadataPoller& p) {
    uint64_t n = 0;
    for (const auto& [reason, count] : p.ErrorCounts()) n += count;
    return n;
  }

  TempDir dir_;
  std::unique_ptr<Child> server_;
  int port_ = 0;
};

TEST_F(PodSourceKubeletTest, FetchesWithCaAndToken) {
  auto poller = Poller(KubeletOptions());
  ASSERT_NE(poller, nullptr);
  EXPECT_EQ(poller->Latest(), nullptr);
  poller->PollOnce();
  EXPECT_EQ(poller->successes(), 1u);
  EXPECT_EQ(TotalErrors(*poller), 0u) << poller->last_status().message();
  ASSERT_NE(poller->Latest(), nullptr);
  ASSERT_EQ(poller->Latest()->size(), 3u);
  EXPECT_EQ((*poller->Latest())[1].containers[1].last_termination_reason, "OOMKilled");
  EXPECT_TRUE(poller->last_success_time().has_value());
  EXPECT_TRUE(poller->last_status().ok());
  // Again, over the kept connection.
  poller->PollOnce();
  EXPECT_EQ(poller->successes(), 2u);
}

TEST_F(PodSourceKubeletTest, FailuresKeepLastGoodList) {
  auto poller = Poller(KubeletOptions());
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  std::shared_ptr<const std::vector<PodMeta>> good = poller->Latest();
  ASSERT_NE(good, nullptr);
  ASSERT_EQ(good->size(), 3u);

  struct Case {
    std::string mode;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"garbage", "parse"},
      {"malformed", "parse"},
      {"truncated", "parse"},
      {"status500", "http_status"},
      {"forbidden", "unauthorized"},
      {"huge", "body_too_large"},
      {"huge_nolength", "body_too_large"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mode);
    SetMode(c.mode);
    std::map<std::string, uint64_t> before = poller->ErrorCounts();
    poller->PollOnce();
    std::map<std::string, uint64_t> after = poller->ErrorCounts();
    EXPECT_EQ(after[c.reason], before[c.reason] + 1) << poller->last_status().message();
    EXPECT_EQ(TotalErrors(*poller), [&] {
      uint64_t n = 0;
      for (const auto& [r, v] : before) n += v;
      return n + 1;
    }());
    EXPECT_EQ(poller->Latest(), good);
    EXPECT_FALSE(poller->last_status().ok());
  }
  EXPECT_EQ(poller->successes(), 1u);

  // A rotated token is read on the next poll: wrong → 401, missing → read, right → success.
  SetMode("ok");
  ReplaceFile(dir_ / "token", "not-the-token");
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["unauthorized"], 2u);
  fs::remove(dir_ / "token");
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["read"], 1u);
  ReplaceFile(dir_ / "token", "\n");
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["read"], 2u);
  EXPECT_EQ(poller->Latest(), good);

  ReplaceFile(dir_ / "token", kToken);
  poller->PollOnce();
  EXPECT_EQ(poller->successes(), 2u);
  ASSERT_NE(poller->Latest(), nullptr);
  EXPECT_NE(poller->Latest(), good);
  EXPECT_EQ(poller->Latest()->size(), 3u);
  EXPECT_EQ(poller->ErrorCounts().size(), std::size(kPodSourceErrorReasons));
}

TEST_F(PodSourceKubeletTest, StallHitsTimeout) {
  PodSourceOptions o = KubeletOptions();
  o.timeout = milliseconds(1000);  // the server stalls 10 s
  auto poller = Poller(o);
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  auto good = poller->Latest();
  SetMode("stall");
  Clock::time_point start = Clock::now();
  poller->PollOnce();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(poller->ErrorCounts()["timeout"], 1u) << poller->last_status().message();
  EXPECT_GE(seconds, 0.9);
  EXPECT_LT(seconds, 5.0);  // the 1 s timeout, not the 10 s stall
  EXPECT_EQ(poller->Latest(), good);
  // The server answers other requests meanwhile.
  SetMode("ok");
  poller->PollOnce();
  EXPECT_EQ(poller->successes(), 2u);
}

TEST_F(PodSourceKubeletTest, StopInterruptsFetch) {
  PodSourceOptions o = KubeletOptions();
  o.timeout = milliseconds(8000);
  o.connect_timeout = milliseconds(8000);
  SetMode("stall");
  auto poller = Poller(o);
  ASSERT_NE(poller, nullptr);
  poller->Start();
  std::this_thread::sleep_for(milliseconds(300));
  Clock::time_point start = Clock::now();
  poller->Stop();
  // Interrupted (libcurl calls the progress callback at least once a second), not left to its 8 s
  // timeout.
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);
  EXPECT_EQ(TotalErrors(*poller), 0u);  // an interrupted fetch is nobody's failure
  EXPECT_EQ(poller->successes(), 0u);
}

TEST_F(PodSourceKubeletTest, WrongCaIsTls) {
  PodSourceOptions o = KubeletOptions();
  o.ca_file = dir_ / "other-ca.pem";
  auto poller = Poller(o);
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["tls"], 1u) << poller->last_status().message();
  EXPECT_EQ(poller->Latest(), nullptr);
}

TEST_F(PodSourceKubeletTest, SystemCasRejectSelfSigned) {
  PodSourceOptions o = KubeletOptions();
  o.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  if (!fs::exists(o.ca_file)) GTEST_SKIP() << "no system CA bundle";
  auto poller = Poller(o);
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["tls"], 1u) << poller->last_status().message();
}

TEST_F(PodSourceKubeletTest, InsecureSkipVerifyAccepts) {
  PodSourceOptions o = KubeletOptions();
  o.ca_file = dir_ / "other-ca.pem";
  o.insecure_skip_tls_verify = true;
  auto poller = Poller(o);
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  EXPECT_EQ(poller->successes(), 1u) << poller->last_status().message();
  ASSERT_NE(poller->Latest(), nullptr);
  EXPECT_EQ(poller->Latest()->size(), 3u);
}

TEST_F(PodSourceKubeletTest, MissingCaFileIsRead) {
  PodSourceOptions o = KubeletOptions();
  o.ca_file = dir_ / "no-such-ca.pem";
  auto poller = Poller(o);
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["read"], 1u) << poller->last_status().message();
}

TEST_F(PodSourceKubeletTest, ConnectRefused) {
  PodSourceOptions o = KubeletOptions();
  o.kubelet_url = "https://127.0.0.1:" + std::to_string(testing::ClosedPort()) + "/pods";
  auto poller = Poller(o);
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["connect"], 1u) << poller->last_status().message();
}

TEST_F(PodSourceKubeletTest, ApiServerSendsFieldSelector) {
  PodSourceOptions o = KubeletOptions();
  o.kind = PodSourceOptions::Kind::kApiServer;
  o.api_server_url = BaseUrl() + "/";
  o.node_name = "lab-node-1";
  auto poller = Poller(o);
  ASSERT_NE(poller, nullptr);
  EXPECT_EQ(poller->source().Describe(),
            "apiserver " + BaseUrl() + "/api/v1/pods?fieldSelector=spec.nodeName=lab-node-1");
  poller->PollOnce();
  EXPECT_EQ(poller->successes(), 1u) << poller->last_status().message();

  o.node_name = "other-node";  // the fake answers 404 for other selectors
  auto other = Poller(o);
  ASSERT_NE(other, nullptr);
  other->PollOnce();
  EXPECT_EQ(other->ErrorCounts()["http_status"], 1u) << other->last_status().message();
}

// Sets an environment variable for the scope of a test, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

std::string Describe(const PodSourceOptions& o) {
  StatusOr<std::unique_ptr<PodSource>> s = NewPodSource(o);
  return s.ok() ? (*s)->Describe() : "error: " + s.status().message();
}

TEST(PodSourceOptionsTest, DefaultsAndErrors) {
  ScopedEnv node("NODE_NAME", nullptr);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
  ScopedEnv port("KUBERNETES_SERVICE_PORT", nullptr);
  using Kind = PodSourceOptions::Kind;
  PodSourceOptions o;
  EXPECT_EQ(Describe(o), "error: --pod-source: none chosen");
  o.kind = Kind::kFile;
  EXPECT_EQ(Describe(o), "error: --pods-file is required with --pod-source=file");
  o.pods_file = "/tmp/pods.json";
  EXPECT_EQ(Describe(o), "file /tmp/pods.json");

  o.kind = Kind::kKubelet;
  EXPECT_NE(Describe(o).find("error: --pod-source=kubelet needs --kubelet-url"), std::string::npos);
  o.node_name = "node-a";
  EXPECT_EQ(Describe(o), "kubelet https://node-a:10250/pods");
  o.node_name = "";
  {
    ScopedEnv env_node("NODE_NAME", "node-b");
    EXPECT_EQ(Describe(o), "kubelet https://node-b:10250/pods");
  }
  o.kubelet_url = "ftp://x/pods";
  EXPECT_EQ(Describe(o), "error: --kubelet-url must start with https:// or http://");
  o.kubelet_url = "http://127.0.0.1:10255/pods";
  EXPECT_EQ(Describe(o), "kubelet http://127.0.0.1:10255/pods");
  o.timeout = milliseconds(0);
  EXPECT_EQ(Describe(o), "error: --pod-timeout must be > 0");
  o.timeout = milliseconds(3000);

  o.kind = Kind::kApiServer;
  EXPECT_EQ(Describe(o), "error: --pod-source=apiserver needs --node-name (or $NODE_NAME)");
  o.node_name = "node-a";
  EXPECT_EQ(Describe(o),
            "error: --pod-source=apiserver needs --api-server-url (or $KUBERNETES_SERVICE_HOST)");
  {
    ScopedEnv env_host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    ScopedEnv env_port("KUBERNETES_SERVICE_PORT", "443");
    EXPECT_EQ(Describe(o),
              "apiserver https://10.96.0.1:443/api/v1/pods?fieldSelector=spec.nodeName=node-a");
  }
  {
    ScopedEnv env_host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
    ScopedEnv env_port("KUBERNETES_SERVICE_PORT", "443");
    EXPECT_EQ(
        Describe(o),
        "apiserver https://[fd00:10:96::1]:443/api/v1/pods?fieldSelector=spec.nodeName=node-a");
  }
  o.api_server_url = "https://api.example:6443//";
  o.node_name = "node a/b";
  EXPECT_EQ(
      Describe(o),
      "apiserver https://api.example:6443/api/v1/pods?fieldSelector=spec.nodeName=node%20a%2Fb");
  o.api_server_url = "api.example:6443";
  EXPECT_EQ(Describe(o), "error: --api-server-url must start with https:// or http://");

  o.kind = Kind::kFile;
  o.interval = milliseconds(0);
  StatusOr<std::unique_ptr<PodMetadataPoller>> poller = NewPodMetadataPoller(o);
  ASSERT_FALSE(poller.ok());
  EXPECT_EQ(poller.status().message(), "--pods-interval must be > 0");
}

const char kOnePod[] = R"({"kind":"PodList","apiVersion":"v1","items":[
  {"metadata":{"uid":"uid-1","name":"one","namespace":"lab"}}]})";
const char kTwoPods[] = R"({"kind":"PodList","apiVersion":"v1","items":[
  {"metadata":{"uid":"uid-1","name":"one","namespace":"lab"}},
  {"metadata":{"uid":"uid-2","name":"two","namespace":"lab"}}]})";

// The file checks every 100 ms; a change is waited for at most kNoticed, well before the full
// re-read (kFullInterval), so only the change check can make it in time, however loaded the
// machine.
constexpr milliseconds kCheckInterval{100};
constexpr milliseconds kNoticed{2000};
constexpr milliseconds kFullInterval{60000};

class PodSourceFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::unique_ptr<PodMetadataPoller> Poller() {
    PodSourceOptions o;
    o.kind = PodSourceOptions::Kind::kFile;
    o.pods_file = path_;
    o.interval = kFullInterval;
    o.file_check_interval = kCheckInterval;
    StatusOr<std::unique_ptr<PodMetadataPoller>> p = NewPodMetadataPoller(o);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? std::move(p.value()) : nullptr;
  }
  TempDir dir_;
  const std::string path_ = dir_ / "pods.json";
};

TEST_F(PodSourceFileTest, ReadsTheFixture) {
  WriteFile(path_, ReadFileToString(kFixture).value());
  auto poller = Poller();
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  ASSERT_NE(poller->Latest(), nullptr);
  EXPECT_EQ(poller->Latest()->size(), 3u);
  EXPECT_EQ(poller->source().Describe(), "file " + path_);
}

TEST_F(PodSourceFileTest, NoticesRenameBeforeTheFullInterval) {
  WriteFile(path_, kOnePod);
  auto poller = Poller();
  ASSERT_NE(poller, nullptr);
  poller->Start();
  ASSERT_TRUE(poller->WaitForSuccess(0, kNoticed));
  ASSERT_EQ(poller->Latest()->size(), 1u);

  // Unchanged: checked (three times at least), not re-read.
  std::this_thread::sleep_for(3 * kCheckInterval + milliseconds(50));
  EXPECT_EQ(poller->successes(), 1u);

  uint64_t before = poller->successes();
  ReplaceFile(path_, kTwoPods);
  ASSERT_TRUE(poller->WaitForSuccess(before, kNoticed));
  ASSERT_EQ(poller->Latest()->size(), 2u);
  EXPECT_EQ((*poller->Latest())[1].name, "two");

  // Rewritten in place, same size: the mtime/ctime change is enough.
  before = poller->successes();
  std::this_thread::sleep_for(milliseconds(20));
  std::string renamed = kTwoPods;
  renamed.replace(renamed.find("\"two\""), 5, "\"2wo\"");
  WriteFile(path_, renamed);
  ASSERT_TRUE(poller->WaitForSuccess(before, kNoticed));
  EXPECT_EQ((*poller->Latest())[1].name, "2wo");
  poller->Stop();
}

TEST_F(PodSourceFileTest, GarbageAndMissingKeepPrevious) {
  WriteFile(path_, kTwoPods);
  auto poller = Poller();
  ASSERT_NE(poller, nullptr);
  poller->PollOnce();
  auto good = poller->Latest();
  ASSERT_NE(good, nullptr);

  ReplaceFile(path_, "{\"kind\":\"PodList\",\"items\":[{\"metad");
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["parse"], 1u);
  EXPECT_EQ(poller->Latest(), good);

  ReplaceFile(path_, R"({"kind":"Pod"})");
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["parse"], 2u);

  fs::remove(path_);
  poller->PollOnce();
  EXPECT_EQ(poller->ErrorCounts()["read"], 1u);
  EXPECT_EQ(poller->last_status().code(), Status::Code::kNotFound);
  EXPECT_EQ(poller->Latest(), good);
  EXPECT_EQ(poller->successes(), 1u);
}

TEST_F(PodSourceFileTest, ThreadCountsEachBadVersionOnce) {
  WriteFile(path_, kOnePod);
  auto poller = Poller();
  ASSERT_NE(poller, nullptr);
  poller->Start();
  ASSERT_TRUE(poller->WaitForSuccess(0, kNoticed));
  auto good = poller->Latest();
  auto errors = [&](const char* reason) { return poller->ErrorCounts()[reason]; };

  // Counted when noticed, then not again over three more checks of the same bad version.
  ReplaceFile(path_, "not json");
  ASSERT_TRUE(WaitUntil([&] { return errors("parse") > 0; }, kNoticed));
  std::this_thread::sleep_for(3 * kCheckInterval);
  EXPECT_EQ(errors("parse"), 1u);
  fs::remove(path_);
  ASSERT_TRUE(WaitUntil([&] { return errors("read") > 0; }, kNoticed));
  std::this_thread::sleep_for(3 * kCheckInterval);
  EXPECT_EQ(errors("read"), 1u);
  EXPECT_EQ(errors("parse"), 1u);
  EXPECT_EQ(poller->Latest(), good);

  ReplaceFile(path_, kTwoPods);
  ASSERT_TRUE(poller->WaitForSuccess(1, kNoticed));
  EXPECT_EQ(poller->Latest()->size(), 2u);
}

TEST_F(PodSourceFileTest, BodyLimit) {
  WriteFile(path_, kTwoPods);
  PodSourceOptions o;
  o.kind = PodSourceOptions::Kind::kFile;
  o.pods_file = path_;
  o.max_body_bytes = 16;
  auto source = NewPodSource(o);
  ASSERT_TRUE(source.ok());
  std::string reason;
  EXPECT_FALSE((*source)->Fetch(&reason).ok());
  EXPECT_EQ(reason, "body_too_large");
}

// A source that replays scripted results.
class ScriptedSource : public PodSource {
 public:
  struct Step {
    std::string reason;  // "" → success with `pods` pods
    size_t pods = 0;
  };
  explicit ScriptedSource(std::deque<Step> steps) : steps_(std::move(steps)) {}
  StatusOr<std::vector<PodMeta>> Fetch(std::string* reason) override {
    if (steps_.empty()) {
      *reason = "read";
      return Status::IoError("script exhausted");
    }
    Step step = steps_.front();
    steps_.pop_front();
    *reason = step.reason;
    if (!step.reason.empty()) return Status::Unavailable("scripted " + step.reason);
    std::vector<PodMeta> pods(step.pods);
    for (size_t i = 0; i < pods.size(); ++i) pods[i].uid = "uid-" + std::to_string(i);
    return pods;
  }
  std::string Describe() const override { return "scripted"; }

 private:
  std::deque<Step> steps_;
};

TEST(PodMetadataPollerTest, CountsAndCallbacks) {
  PodMetadataPoller poller(std::make_unique<ScriptedSource>(std::deque<ScriptedSource::Step>{
                               {"timeout", 0}, {"", 2}, {"parse", 0}, {"parse", 0}, {"", 3}}),
                           milliseconds(1000));
  std::map<std::string, uint64_t> zero = poller.ErrorCounts();
  ASSERT_EQ(zero.size(), std::size(kPodSourceErrorReasons));
  for (const char* reason : kPodSourceErrorReasons) EXPECT_EQ(zero.at(reason), 0u) << reason;

  std::vector<size_t> updates;
  std::vector<std::string> errors;
  poller.SetCallbacks(
      {[&](const std::shared_ptr<const std::vector<PodMeta>>& l) { updates.push_back(l->size()); },
       [&](const std::string& reason, const Status&) { errors.push_back(reason); }});

  poller.PollOnce();
  EXPECT_EQ(poller.Latest(), nullptr);
  EXPECT_FALSE(poller.last_success_time().has_value());
  poller.PollOnce();
  auto two = poller.Latest();
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->size(), 2u);
  poller.PollOnce();
  poller.PollOnce();
  EXPECT_EQ(poller.Latest(), two);
  poller.PollOnce();
  EXPECT_EQ(poller.Latest()->size(), 3u);
  EXPECT_EQ(two->size(), 2u);  // readers keep their snapshot

  std::map<std::string, uint64_t> counts = poller.ErrorCounts();
  EXPECT_EQ(counts["timeout"], 1u);
  EXPECT_EQ(counts["parse"], 2u);
  EXPECT_EQ(poller.successes(), 2u);
  EXPECT_EQ(updates, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(errors, (std::vector<std::string>{"timeout", "parse", "parse"}));
}

TEST(PodMetadataPollerTest, StartPollsImmediatelyAndStopIsPrompt) {
  PodMetadataPoller poller(
      std::make_unique<ScriptedSource>(std::deque<ScriptedSource::Step>{{"", 1}}),
      milliseconds(60000));
  poller.Start();
  ASSERT_TRUE(poller.WaitForSuccess(0, milliseconds(2000)));
  Clock::time_point start = Clock::now();
  poller.Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(5000));  // the interval (60 s) is not waited out
  poller.Stop();                                        // idempotent
}

TEST(PodMetadataPollerTest, DestructorStopsRunningThread) {
  auto poller = std::make_unique<PodMetadataPoller>(
      std::make_unique<ScriptedSource>(std::deque<ScriptedSource::Step>{}), milliseconds(10));
  poller->Start();
  // The thread runs (a fetch every 10 ms, each failing); then the destructor must end it.
  EXPECT_TRUE(WaitUntil([&] { return poller->ErrorCounts()["read"] > 0; }, milliseconds(5000)));
  poller.reset();
}

}  // namespace
}  // namespace podmeter
