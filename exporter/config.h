// podmeter's command line: the flags, parsed into one Config that the wiring (main.cc) reads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collectors/kube/pod_source.h"
#include "collectors/relay/relay.h"
#include "exporter/log.h"
#include "exporter/sampler.h"

namespace podmeter {

struct Config {
  std::string listen = ":10101";
  std::string web_config_file;  ///< TLS and credentials (exporter-toolkit format); empty: none
  LogLevel log_level = LogLevel::kInfo;
  SamplerOptions sampler;                        ///< interval, roots, stale-after, start-up timeout
  std::vector<std::string> disabled_collectors;  ///< names from the registry
  PodSourceOptions pods;                         ///< kind kNone: no metadata source
  bool relay = true;                             ///< relay annotated pods (needs a pod source)
  RelayOptions relay_options;
  /// Descriptors the collectors keep open between samples (--kept-open-files); nullopt: half
  /// the open-file limit.
  std::optional<size_t> kept_open_files;
  /// A process's own figures are read once every this many samples (--process-interval).
  unsigned process_every_samples = 1;
};

/// Parses the command line into `config`. Returns the exit code when podmeter must stop at once
/// (--help and --version: 0, after printing; a bad flag: 2, after printing why), else nullopt.
std::optional<int> ParseFlags(int argc, char** argv, const std::string& version, Config* config);

/// Checks the flag values that can never work, so that podmeter stops (exit 2) instead of running
/// green and exporting nothing: --pods-file missing or not a regular file, --cgroup-root not a
/// directory, no cgroup mount in <--proc-root>/self/mountinfo. The error names the flag. Reads
/// the filesystem; failures later on are retried and counted, not checked here.
Status CheckConfig(const Config& config);

}  // namespace podmeter
