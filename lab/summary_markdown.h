// summary.md: the scoreboard per runtime (what the reference report's "Final Scoreboard" shows),
// the cold-start, soak-trend and cost-projection tables, the pods and every scenario, from
// summary.json. Pure; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace podmeter::lab {

/// summary.md from summary.json's document; a missing figure is "-".
std::string SummaryMarkdown(const nlohmann::json& summary);

}  // namespace podmeter::lab
