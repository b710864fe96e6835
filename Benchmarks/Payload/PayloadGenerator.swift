/// Deterministic, realistic JSON order events of exactly `payloadBytes` bytes each.
///
/// Each event picks an order from a pool (default 1,000) whose id, customer, city, currency, amount and
/// item count stay fixed, an enumerated status, a rising timestamp (+0…3 ms per event) and a sequence
/// number, a random trace id and client address, then fills the `note` field with delivery-note
/// phrases so the record is exactly `payloadBytes` long. Below the size of the fixed fields (about
/// 250 bytes) the JSON is cut at `payloadBytes` and is no longer valid JSON. LZ4 ratio on 64 KiB
/// blocks: 3.09 at 256 bytes, 3.75 at 512, 4.45 at 1024 (longer notes compress better).
///
/// The same seed gives the same bytes on every platform (SplitMix64, no Foundation randomness).
struct PayloadGenerator: Sendable {
    private struct Order: Sendable {
        var number: UInt64
        var customer: UInt64
        var city: Int
        var amountCents: UInt64
        var items: UInt64
    }

    static let statuses: [StaticString] = [
        "created", "paid", "packed", "shipped", "out_for_delivery", "delivered", "cancelled", "refunded",
    ]
    static let cities: [StaticString] = [
        "Lisbon", "Porto", "Madrid", "Barcelona", "Paris", "Lyon", "Berlin", "Hamburg", "Munich", "Vienna",
        "Zurich", "Milan", "Rome", "Amsterdam", "Brussels", "Copenhagen", "Stockholm", "Oslo", "Dublin",
        "London", "Manchester", "Warsaw", "Prague", "Budapest",
    ]
    static let currencies: [StaticString] = ["EUR", "GBP", "CHF", "SEK", "PLN"]
    static let notes: [StaticString] = [
        "leave at the front door", "ring the bell twice", "call on arrival", "gift wrap please",
        "fragile handle with care", "deliver after 6pm", "no signature required", "neighbour at no 12",
        "use the side entrance", "customer requested express", "address verified", "reschedule if absent",
        "pack items separately", "eco packaging", "invoice in the box", "weekend delivery ok",
    ]

    let payloadBytes: Int
    private var random: SplitMix64
    private var milliseconds: Int64
    private var sequence: UInt64 = 0
    private var orders: [Order]
    private var scratch: [UInt8]

    /// - Parameters:
    ///   - payloadBytes: exact size of every record (≥ 1).
    ///   - seed: PRNG seed; the same seed gives the same records.
    ///   - orderPool: number of distinct orders the events refer to.
    ///   - startMilliseconds: timestamp of the first event.
    init(
        payloadBytes: Int = 256,
        seed: UInt64 = 0x5EED_0F_0DE5,
        orderPool: Int = 1000,
        startMilliseconds: Int64 = 1_700_000_000_000
    ) {
        self.payloadBytes = max(1, payloadBytes)
        var random = SplitMix64(seed: seed)
        var orders: [Order] = []
        orders.reserveCapacity(max(1, orderPool))
        for _ in 0..<max(1, orderPool) {
            orders.append(
                Order(
                    number: 100_000 + random.next() % 900_000,
                    customer: random.next() % 100_000,
                    city: random.next(below: Self.cities.count),
                    amountCents: 199 + random.next() % 49_800,
                    items: 1 + random.next() % 9
                ))
        }
        self.random = random
        self.orders = orders
        self.milliseconds = startMilliseconds
        self.scratch = [UInt8](repeating: 0, count: 512)
    }

    /// Writes the next record into the first `payloadBytes` bytes of `destination` and returns its
    /// timestamp in milliseconds. A smaller `destination` gets the record cut to its size.
    @discardableResult
    mutating func write(into destination: UnsafeMutableRawBufferPointer) -> Int64 {
        let order = orders[random.next(below: orders.count)]
        let status = Self.statuses[random.next(below: Self.statuses.count)]
        milliseconds += Int64(random.next(below: 4))
        sequence += 1
        let timestamp = milliseconds
        let sequence = self.sequence
        let traceID = random.next()
        let noteSeed = random.next()
        let clientAddress = random.next()
        let size = min(payloadBytes, destination.count)
        guard size > 0 else { return timestamp }

        scratch.withUnsafeMutableBytes { scratchBytes in
            var out = ByteCursor(base: scratchBytes.baseAddress.unsafelyUnwrapped, capacity: scratchBytes.count)
            out.append("{\"event\":\"order.")
            out.append(status)
            out.append("\",\"order_id\":\"ord-")
            out.appendDecimal(order.number, width: 6)
            out.append("\",\"customer_id\":\"cus-")
            out.appendDecimal(order.customer, width: 5)
            out.append("\",\"city\":\"")
            out.append(Self.cities[order.city])
            out.append("\",\"currency\":\"")
            out.append(Self.currencies[order.city % Self.currencies.count])
            out.append("\",\"amount_cents\":")
            out.appendDecimal(order.amountCents, width: 0)
            out.append(",\"items\":")
            out.appendDecimal(order.items, width: 0)
            out.append(",\"status\":\"")
            out.append(status)
            out.append("\",\"ts\":")
            out.appendDecimal(UInt64(timestamp), width: 0)
            out.append(",\"seq\":")
            out.appendDecimal(sequence, width: 0)
            out.append(",\"trace\":\"")
            out.appendHex(traceID, digits: 16)
            out.append("\",\"client_ip\":\"10.")
            out.appendDecimal(clientAddress >> 16 & 0xFF, width: 0)
            out.append(".")
            out.appendDecimal(clientAddress >> 8 & 0xFF, width: 0)
            out.append(".")
            out.appendDecimal(clientAddress & 0xFF, width: 0)
            out.append("\",\"note\":\"")
            let fixed = out.count + 2  // closing `"}`
            let destinationBase = destination.baseAddress.unsafelyUnwrapped
            if fixed >= size {
                // Too small for the fields: cut the JSON at `size` bytes.
                out.append("\"}")
                destinationBase.copyMemory(from: out.base, byteCount: size)
                return
            }
            destinationBase.copyMemory(from: out.base, byteCount: out.count)
            // Fill the note with phrases (joined by ". ") straight into the destination, then close it.
            var position = out.count
            let noteEnd = size - 2
            var phraseSeed = noteSeed
            while position < noteEnd {
                let phrase = Self.notes[Int(truncatingIfNeeded: phraseSeed % UInt64(Self.notes.count))]
                phraseSeed = phraseSeed / UInt64(Self.notes.count) &+ 0x9E37_79B9 &* UInt64(position)
                let length = min(phrase.utf8CodeUnitCount, noteEnd - position)
                (destinationBase + position).copyMemory(from: phrase.utf8Start, byteCount: length)
                position += length
                if position < noteEnd {
                    let separator = min(2, noteEnd - position)
                    (destinationBase + position).storeBytes(of: UInt8(ascii: "."), as: UInt8.self)
                    if separator == 2 {
                        (destinationBase + position + 1).storeBytes(of: UInt8(ascii: " "), as: UInt8.self)
                    }
                    position += separator
                }
            }
            (destinationBase + noteEnd).storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
            (destinationBase + noteEnd + 1).storeBytes(of: UInt8(ascii: "}"), as: UInt8.self)
        }
        return timestamp
    }

    /// The next record as its own array.
    mutating func next() -> [UInt8] {
        var record = [UInt8](repeating: 0, count: payloadBytes)
        record.withUnsafeMutableBytes { _ = write(into: $0) }
        return record
    }

    /// The next `count` records, one array each (generate before timing).
    mutating func makeRecords(count: Int) -> [[UInt8]] {
        (0..<max(0, count)).map { _ in next() }
    }

    /// The next `count` records in one contiguous buffer (generate before timing).
    mutating func makeBuffer(count: Int) -> PayloadBuffer {
        let count = max(0, count)
        let size = payloadBytes
        var timestamps = [Int64](repeating: 0, count: count)
        var bytes = [UInt8](repeating: 0, count: count * size)
        bytes.withUnsafeMutableBytes { all in
            timestamps.withUnsafeMutableBufferPointer { stamps in
                for index in 0..<count {
                    let slot = UnsafeMutableRawBufferPointer(rebasing: all[(index * size)..<((index + 1) * size)])
                    stamps[index] = write(into: slot)
                }
            }
        }
        return PayloadBuffer(payloadBytes: size, count: count, bytes: bytes, timestamps: timestamps)
    }
}
