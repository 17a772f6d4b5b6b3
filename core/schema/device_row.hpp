#pragma once
// A compiled form of device.schema.json for the typed rows of CSV files. valijson costs tens of
// microseconds per document, which dominates a 100,000-row enrollment; CSV rows have a fixed set of
// typed columns, so their rules are checked directly here. tests/unit/device_row_test.cpp holds this
// check and the schema to the same verdicts.

#include "core/resource/device_rows.hpp"
#include "core/util/diagnostics.hpp"

namespace fleet::schema {

/// Checks a CSV row against the rules of device.schema.json, label keys and UTF-8 included; reports
/// each violation at where (the row's file:line) with the column's field path. True when valid.
bool validate_device_row(const resource::DeviceRow& row, const util::Location& where, util::Diagnostics& diags);

} // namespace fleet::schema
