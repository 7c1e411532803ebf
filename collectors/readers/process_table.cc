#include "collectors/readers/process_table.h"

#include <libproc2/pids.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_map>

#include "collectors/base/file_util.h"
#include "collectors/base/open_file_cache.h"

namespace podmeter {
namespace {

class Libproc2ProcessTable : public ProcessTable {
 public:
  Libproc2ProcessTable() {
    if (procps_pids_new(&info_, items_, kNumItems) < 0) info_ = nullptr;
  }
  ~Libproc2ProcessTable() override {
    if (info_ != nullptr) procps_pids_unref(&info_);
  }
  Libproc2ProcessTable(const Libproc2ProcessTable&) = delete;
  Libproc2ProcessTable& operator=(const Libproc2ProcessTable&) = delete;

  Status Read(const std::vector<int>& pids, bool /*names*/,
              std::vector<ProcessInfo>* out) override {
    out->clear();
    if (pids.empty()) return Status::Ok();
    if (info_ == nullptr) return Status::Unavailable("libproc2: procps_pids_new failed");
    for (size_t first = 0; first < pids.size(); first += kMaxPidsPerSelect) {
      size_t n = std::min(kMaxPidsPerSelect, pids.size() - first);
      Status s = ReadChunk(&pids[first], n, out);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  // procps_pids_select refuses more pids than this in one call (libproc2's FILL_ID_MAX).
  static constexpr size_t kMaxPidsPerSelect = 255;

  // One select of at most kMaxPidsPerSelect pids; appends what it found to `out` (the fetch is
  // libproc2's and is reused by the next select).
  Status ReadChunk(const int* pids, size_t n, std::vector<ProcessInfo>* out) {
    these_.assign(pids, pids + n);
    pids_fetch* fetch =
        procps_pids_select(info_, these_.data(), static_cast<int>(n), PIDS_SELECT_PID);
    if (fetch == nullptr) return Status::IoError("libproc2: procps_pids_select failed");
    for (int i = 0; i < fetch->counts->total; ++i) {
      pids_stack* stack = fetch->stacks[i];
      ProcessInfo p;
      p.pid = PIDS_VAL(0, s_int, stack, info_);
      p.resident_bytes = uint64_t{PIDS_VAL(1, ul_int, stack, info_)} * 1024;
      const char* comm = PIDS_VAL(2, str, stack, info_);
      p.comm = comm != nullptr ? comm : "";
      out->push_back(std::move(p));
    }
    return Status::Ok();
  }

  static constexpr int kNumItems = 3;
  pids_item items_[kNumItems] = {PIDS_ID_PID, PIDS_MEM_RES, PIDS_CMD};
  pids_info* info_ = nullptr;
  std::vector<unsigned> these_;  // reused between calls
};

// statm's resident field, not stat's rss: on Linux 6.16+ statm sums the per-CPU counters, stat
// reads the batched global one (an idle `sleep` ~40 pages low on 2 CPUs).
class ProcfsProcessTable : public ProcessTable {
 public:
  ProcfsProcessTable(std::string proc_root, OpenFileCache::Keep keep)
      : proc_root_(std::move(proc_root)),
        page_size_(static_cast<uint64_t>(::sysconf(_SC_PAGESIZE))),
        files_(keep) {}

  Status Read(const std::vector<int>& pids, bool names, std::vector<ProcessInfo>* out) override {
    out->clear();
    for (int pid : pids) {
      ProcessInfo p;
      p.pid = pid;
      Status s = ReadOne(pid, names, &p);
      if (s.IsNotFound()) continue;  // exited
      if (!s.ok()) return s;
      out->push_back(std::move(p));
    }
    return Status::Ok();
  }

  void EndSample() override { files_.Sweep(); }

 private:
  Status ReadOne(int pid, bool names, ProcessInfo* p) {
    dir_ = proc_root_;
    dir_ += '/';
    dir_ += std::to_string(pid);
    Status s = files_.Read(dir_, "statm", &text_);
    if (!s.ok()) return s;
    // "size resident shared text lib data dt": the second field.
    const std::string_view statm = text_;
    const size_t b = statm.find(' ');
    const size_t e = b == std::string_view::npos ? b : statm.find(' ', b + 1);
    const std::string_view resident =
        b == std::string_view::npos
            ? std::string_view()
            : statm.substr(b + 1, e == std::string_view::npos ? e : e - b - 1);
    uint64_t resident_pages = 0;
    if (!ParseUint64(resident, &resident_pages)) {
      return Status::InvalidData(dir_ + "/statm: malformed");
    }
    p->resident_bytes = resident_pages * page_size_;
    if (!names) return Status::Ok();
    s = files_.Read(dir_, "comm", &p->comm);
    if (s.ok() && !p->comm.empty() && p->comm.back() == '\n') p->comm.pop_back();
    return s;
  }

  std::string proc_root_;
  uint64_t page_size_;
  OpenFileCache files_;
  std::string dir_, text_;  // reused between calls
};

class StaggeredProcessTable : public ProcessTable {
 public:
  StaggeredProcessTable(std::unique_ptr<ProcessTable> inner, unsigned every)
      : inner_(std::move(inner)), every_(std::max(every, 1u)) {}

  Status Read(const std::vector<int>& pids, bool names, std::vector<ProcessInfo>* out) override {
    out->clear();
    due_.clear();
    for (int pid : pids) {
      auto it = kept_.find(pid);
      const bool due = it == kept_.end() || (names && !it->second.named) ||
                       (static_cast<uint64_t>(pid) + sample_) % every_ == 0;
      if (due) {
        due_.push_back(pid);
        continue;
      }
      it->second.listed_in = sample_;
      out->push_back(it->second.info);
    }
    if (due_.empty()) return Status::Ok();
    Status s = inner_->Read(due_, names, &fresh_);
    if (!s.ok()) return s;
    for (int pid : due_) kept_.erase(pid);  // those not read again have exited
    for (ProcessInfo& p : fresh_) {
      Kept& k = kept_[p.pid];
      k.info = p;
      k.named = names;
      k.listed_in = sample_;
      out->push_back(std::move(p));
    }
    return Status::Ok();
  }

  unsigned every() const override { return static_cast<unsigned>(every_); }

  void EndSample() override {
    std::erase_if(kept_, [this](const auto& entry) { return entry.second.listed_in != sample_; });
    ++sample_;
    if (sample_ % every_ == 0) inner_->EndSample();
  }

 private:
  struct Kept {
    ProcessInfo info;
    bool named = false;      // info.comm was asked for
    uint64_t listed_in = 0;  // the last sample that listed it
  };

  std::unique_ptr<ProcessTable> inner_;
  uint64_t every_;
  uint64_t sample_ = 0;
  std::unordered_map<int, Kept> kept_;
  std::vector<int> due_;            // reused between calls
  std::vector<ProcessInfo> fresh_;  // reused between calls
};

}  // namespace

std::unique_ptr<ProcessTable> NewLibproc2ProcessTable() {
  return std::make_unique<Libproc2ProcessTable>();
}

std::unique_ptr<ProcessTable> NewProcfsProcessTable(std::string proc_root,
                                                    OpenFileCache::Keep keep) {
  return std::make_unique<ProcfsProcessTable>(std::move(proc_root), keep);
}

std::unique_ptr<ProcessTable> NewStaggeredProcessTable(std::unique_ptr<ProcessTable> inner,
                                                       unsigned every) {
  if (every <= 1) return inner;
  return std::make_unique<StaggeredProcessTable>(std::move(inner), every);
}

}  // namespace podmeter
