import StreamKitEngine
import StreamKitLogFiles
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `storedEntries`: a stretch of a sealed block sent as stored, checked and decoded by the receiver.
struct StoredEntriesTests {
    @Test("a stored block decodes to the entries of its range, with positions from the block's first position")
    func decodesItsRange() throws {
        let stored = WireFixtures.storedEntries

        let decoded = try WireFixtures.roundTrip(.storedEntries(stored))
        guard case .storedEntries(let received) = decoded else {
            Issue.record("decoded \(decoded.kind)")
            return
        }
        let entries = try received.entries()

        #expect(entries.map(\.position) == [42, 43])
        #expect(entries.map(\.sequence) == [2, 3])
        #expect(entries.allSatisfy { $0.space == "orders" && $0.segment == WireFixtures.unicode })
        #expect(entries.map(\.metadata) == [["k": "v"], [:]])
        #expect(entries.allSatisfy { $0.payload == WireFixtures.compressible(300) })
    }

    @Test("a stored block whose bytes were damaged fails with corrupt instead of decoding")
    func damagedBlockFails() throws {
        var stored = WireFixtures.storedEntries
        let message = WireMessage.storedEntries(stored)
        stored.block.body[stored.block.body.count / 2] ^= 0x40
        let damaged = WireMessage.storedEntries(stored)

        let error = #expect(throws: StreamKitError.self) { _ = try stored.entries() }

        #expect(error?.code == .corrupt)
        #expect(try WireFixtures.roundTrip(damaged) != message)
    }

    @Test(
        "a stored block whose range or lengths do not fit its header is malformed",
        arguments: [
            (first: 3, count: 2), (first: 4, count: 1), (first: 0, count: 0),
        ])
    func rangeOutsideTheBlockIsMalformed(first: Int, count: Int) throws {
        var stored = WireFixtures.storedEntries
        stored.range = first..<(first + count)

        #expect(throws: WireError.self) { _ = try WireFixtures.roundTrip(.storedEntries(stored)) }
    }
}
