// The common JSON Lines record, a flat object of ASCII keys and integers,
// plain strings, booleans or nulls, packed without nlohmann's lexer (which
// spent ~1.6 us a row of five columns, most of `wsql insert`'s time).
#pragma once

#include <string>
#include <string_view>

namespace w::mp {

/// Appends the msgpack of `json` when it is such an object (whitespace
/// around tokens as JSON allows) and returns true; the bytes are those
/// from_json_dom() packs for it. Anything else (nesting, a float, an escape
/// or a byte past ASCII in a string, a key given twice, "$b64", more than
/// 64 keys, a number past 64 bits, text that is not JSON) returns false
/// and leaves `out` as it was: the caller parses it properly.
bool pack_flat_object(std::string_view json, std::string& out);

}  // namespace w::mp
