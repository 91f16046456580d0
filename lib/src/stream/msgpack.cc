// MessagePack packing and framing. Format reference: the msgpack spec
// (https://github.com/msgpack/msgpack/blob/master/spec.md).
#include "w/msgpack.h"

#include <cstring>

namespace w::mp {

// One append per header: byte-wise push_back made packing a frame ~2x
// slower than msgpack-c's packer (bench/codec.sh).
void Packer::tagged(char tag, uint64_t v, int bytes) {
  char buf[9];
  buf[0] = tag;
  for (int i = 0; i < bytes; ++i)
    buf[1 + i] = static_cast<char>((v >> (8 * (bytes - 1 - i))) & 0xff);
  out_.append(buf, static_cast<size_t>(bytes) + 1);
}

void Packer::map(uint32_t n) {
  if (n < 16) {
    out_.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    tagged('\xde', n, 2);
  } else {
    tagged('\xdf', n, 4);
  }
}

void Packer::array(uint32_t n) {
  if (n < 16) {
    out_.push_back(static_cast<char>(0x90 | n));
  } else if (n < 65536) {
    tagged('\xdc', n, 2);
  } else {
    tagged('\xdd', n, 4);
  }
}

void Packer::str(std::string_view s) {
  size_t n = s.size();
  if (n < 32) {
    out_.push_back(static_cast<char>(0xa0 | n));
  } else if (n < 256) {
    tagged('\xd9', n, 1);
  } else if (n < 65536) {
    tagged('\xda', n, 2);
  } else {
    tagged('\xdb', n, 4);
  }
  out_.append(s);
}

void Packer::bin(const void* data, size_t n) {
  if (n < 256) {
    tagged('\xc4', n, 1);
  } else if (n < 65536) {
    tagged('\xc5', n, 2);
  } else {
    tagged('\xc6', n, 4);
  }
  out_.append(static_cast<const char*>(data), n);
}

void Packer::ext(int8_t type, const void* data, size_t n) {
  switch (n) {
    case 1:
      out_.push_back('\xd4');
      break;
    case 2:
      out_.push_back('\xd5');
      break;
    case 4:
      out_.push_back('\xd6');
      break;
    case 8:
      out_.push_back('\xd7');
      break;
    case 16:
      out_.push_back('\xd8');
      break;
    default:
      if (n < 256)
        tagged('\xc7', n, 1);
      else if (n < 65536)
        tagged('\xc8', n, 2);
      else
        tagged('\xc9', n, 4);
  }
  out_.push_back(static_cast<char>(type));
  out_.append(static_cast<const char*>(data), n);
}

void Packer::uinteger(uint64_t v) {
  if (v < 128) {
    out_.push_back(static_cast<char>(v));
  } else if (v < 256) {
    tagged('\xcc', v, 1);
  } else if (v < 65536) {
    tagged('\xcd', v, 2);
  } else if (v < (1ULL << 32)) {
    tagged('\xce', v, 4);
  } else {
    tagged('\xcf', v, 8);
  }
}

void Packer::integer(int64_t v) {
  if (v >= 0) return uinteger(static_cast<uint64_t>(v));
  if (v >= -32) {
    out_.push_back(static_cast<char>(v));
  } else if (v >= -128) {
    tagged('\xd0', static_cast<uint64_t>(v), 1);
  } else if (v >= -32768) {
    tagged('\xd1', static_cast<uint64_t>(v), 2);
  } else if (v >= INT32_MIN) {
    tagged('\xd2', static_cast<uint64_t>(v), 4);
  } else {
    tagged('\xd3', static_cast<uint64_t>(v), 8);
  }
}

void Packer::real(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  tagged('\xcb', bits, 8);
}

namespace {

uint64_t be(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool read_item(std::string_view& rest, Item& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(rest.data());
  const size_t n = rest.size();
  if (n == 0) return false;
  const uint8_t b = p[0];
  size_t used = 1;
  // The big-endian number of `bytes` bytes after the header, if present.
  auto field = [&](int bytes, uint64_t& v) {
    if (n - used < static_cast<size_t>(bytes)) return false;
    v = be(p + used, bytes);
    used += static_cast<size_t>(bytes);
    return true;
  };
  auto payload = [&](uint64_t len) {
    if (n - used < len) return false;
    out.bytes = rest.substr(used, len);
    used += len;
    return true;
  };
  out = Item{};
  uint64_t v = 0;
  bool ok = true;
  if (b <= 0x7f) {
    out.kind = Item::kUint, out.uint = b;
  } else if (b >= 0xe0) {
    out.kind = Item::kInt, out.sint = static_cast<int64_t>(b) - 256;
  } else if (b >= 0x80 && b <= 0x8f) {
    out.kind = Item::kMap, out.count = b & 0x0f;
  } else if (b >= 0x90 && b <= 0x9f) {
    out.kind = Item::kArray, out.count = b & 0x0f;
  } else if (b >= 0xa0 && b <= 0xbf) {
    out.kind = Item::kStr, ok = payload(b & 0x1f);
  } else {
    switch (b) {
      case 0xc0:
        out.kind = Item::kNil;
        break;
      case 0xc2:
      case 0xc3:
        out.kind = Item::kBool, out.boolean = b == 0xc3;
        break;
      case 0xc4:
      case 0xc5:
      case 0xc6:
        out.kind = Item::kBin, ok = field(1 << (b - 0xc4), v) && payload(v);
        break;
      case 0xc7:
      case 0xc8:
      case 0xc9:
        out.kind = Item::kExt;
        ok = field(1 << (b - 0xc7), v) && field(1, out.uint) && payload(v);
        out.ext_type = static_cast<int8_t>(out.uint), out.uint = 0;
        break;
      case 0xca: {
        out.kind = Item::kFloat, ok = field(4, v);
        float f;
        const auto bits = static_cast<uint32_t>(v);
        std::memcpy(&f, &bits, sizeof f);
        out.real = f;
        break;
      }
      case 0xcb:
        out.kind = Item::kFloat, ok = field(8, v);
        std::memcpy(&out.real, &v, sizeof out.real);
        break;
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf:
        out.kind = Item::kUint, ok = field(1 << (b - 0xcc), out.uint);
        break;
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const int bytes = 1 << (b - 0xd0);
        ok = field(bytes, v);
        // Sign-extend the two's-complement field of `bytes` bytes.
        const int shift = 64 - 8 * bytes;
        const auto value = static_cast<int64_t>(v << shift) >> shift;
        if (value >= 0)
          out.kind = Item::kUint, out.uint = static_cast<uint64_t>(value);
        else
          out.kind = Item::kInt, out.sint = value;
        break;
      }
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        out.kind = Item::kExt;
        ok = field(1, out.uint) && payload(uint64_t{1} << (b - 0xd4));
        out.ext_type = static_cast<int8_t>(out.uint), out.uint = 0;
        break;
      case 0xd9:
      case 0xda:
      case 0xdb:
        out.kind = Item::kStr, ok = field(1 << (b - 0xd9), v) && payload(v);
        break;
      case 0xdc:
      case 0xdd:
        out.kind = Item::kArray, ok = field(2 << (b - 0xdc), v);
        out.count = static_cast<uint32_t>(v);
        break;
      case 0xde:
      case 0xdf:
        out.kind = Item::kMap, ok = field(2 << (b - 0xde), v);
        out.count = static_cast<uint32_t>(v);
        break;
      default:
        return false;  // 0xc1, never used
    }
  }
  if (!ok) return false;
  rest.remove_prefix(used);
  return true;
}

long object_size(const uint8_t* data, size_t n) {
  // Walks the objects iteratively: `pending` counts objects still to read,
  // each container adds its children. 64-bit counters cannot overflow on
  // declared sizes of at most 2^32 entries.
  size_t pos = 0;
  uint64_t pending = 1;
  while (pending > 0) {
    if (pos >= n) return kNeedMore;
    const uint8_t b = data[pos++];
    --pending;
    uint64_t skip = 0;  // payload bytes after the header
    auto need = [&](int bytes, uint64_t& value) {
      if (n - pos < static_cast<size_t>(bytes)) return false;
      value = be(data + pos, bytes);
      pos += static_cast<size_t>(bytes);
      return true;
    };
    uint64_t len = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      // fixint, nil, bool
    } else if (b >= 0x80 && b <= 0x8f) {
      pending += 2ULL * (b & 0x0f);
    } else if (b >= 0x90 && b <= 0x9f) {
      pending += b & 0x0f;
    } else if (b >= 0xa0 && b <= 0xbf) {
      skip = b & 0x1f;
    } else {
      switch (b) {
        case 0xc4:
        case 0xd9:
          if (!need(1, len)) return kNeedMore;
          skip = len;
          break;
        case 0xc5:
        case 0xda:
          if (!need(2, len)) return kNeedMore;
          skip = len;
          break;
        case 0xc6:
        case 0xdb:
          if (!need(4, len)) return kNeedMore;
          skip = len;
          break;
        case 0xc7:
          if (!need(1, len)) return kNeedMore;
          skip = len + 1;
          break;  // ext 8
        case 0xc8:
          if (!need(2, len)) return kNeedMore;
          skip = len + 1;
          break;  // ext 16
        case 0xc9:
          if (!need(4, len)) return kNeedMore;
          skip = len + 1;
          break;  // ext 32
        case 0xca:
          skip = 4;
          break;
        case 0xcb:
          skip = 8;
          break;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xd4:
          skip = 2;
          break;  // fixext 1
        case 0xd5:
          skip = 3;
          break;  // fixext 2
        case 0xd6:
          skip = 5;
          break;  // fixext 4
        case 0xd7:
          skip = 9;
          break;  // fixext 8
        case 0xd8:
          skip = 17;
          break;  // fixext 16
        case 0xdc:
          if (!need(2, len)) return kNeedMore;
          pending += len;
          break;
        case 0xdd:
          if (!need(4, len)) return kNeedMore;
          pending += len;
          break;
        case 0xde:
          if (!need(2, len)) return kNeedMore;
          pending += 2 * len;
          break;
        case 0xdf:
          if (!need(4, len)) return kNeedMore;
          pending += 2 * len;
          break;
        default:
          return kMalformed;  // 0xc1 is never used
      }
    }
    if (n - pos < skip) return kNeedMore;
    pos += static_cast<size_t>(skip);
    // A declared count larger than the bytes that could possibly hold it is
    // not worth waiting for forever, but we cannot tell on a stream; the
    // caller's record size cap ends that wait.
  }
  return static_cast<long>(pos);
}

bool is_one_object(std::string_view bytes) {
  long size = object_size(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return size > 0 && static_cast<size_t>(size) == bytes.size();
}

}  // namespace w::mp
