/// Appends ASCII text and numbers to a raw buffer without allocating. Writes past `capacity` are dropped.
struct ByteCursor {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var count = 0

    init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        let length = min(text.utf8CodeUnitCount, capacity - count)
        (base + count).copyMemory(from: text.utf8Start, byteCount: length)
        count += length
    }

    /// Decimal digits, zero-padded to `width` (0 = no padding).
    mutating func appendDecimal(_ value: UInt64, width: Int) {
        var length = 0
        var remaining = value
        repeat {
            length += 1
            remaining /= 10
        } while remaining > 0
        let total = max(length, width)
        guard count + total <= capacity else { return }
        remaining = value
        var position = count + total - 1
        for _ in 0..<total {
            (base + position).storeBytes(of: UInt8(ascii: "0") + UInt8(remaining % 10), as: UInt8.self)
            remaining /= 10
            position -= 1
        }
        count += total
    }

    /// Lower-case hex of the low `digits` nibbles of `value`.
    mutating func appendHex(_ value: UInt64, digits: Int) {
        guard count + digits <= capacity else { return }
        let alphabet: StaticString = "0123456789abcdef"
        for index in 0..<digits {
            let nibble = Int((value >> UInt64(4 * (digits - 1 - index))) & 0xF)
            (base + count + index).storeBytes(of: alphabet.utf8Start[nibble], as: UInt8.self)
        }
        count += digits
    }
}
