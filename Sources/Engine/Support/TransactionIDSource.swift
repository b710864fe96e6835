internal import CStreamKitSupport
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Random (version 4) transaction ids, drawn from a pool of system randomness refilled 4 KiB at a time:
/// `UUID()` asks the kernel for 16 bytes per call, a system call on every produced transaction.
enum TransactionIDSource {
    private static let idsPerRefill = 256
    private static let pool = Mutex(Pool())

    private struct Pool: ~Copyable {
        var bytes = [UInt8](repeating: 0, count: TransactionIDSource.idsPerRefill * 16)
        var next = TransactionIDSource.idsPerRefill
    }

    /// Fills `buffer` from the kernel's random source (one system call per refill).
    private static func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        if sk_random_bytes(buffer.baseAddress, buffer.count) == 0 { return }
        // No kernel randomness (not expected after boot): fall back to the standard generator.
        var generator = SystemRandomNumberGenerator()
        for i in buffer.indices { buffer[i] = UInt8.random(in: 0...255, using: &generator) }
    }

    /// A fresh random UUID.
    static func next() -> UUID {
        pool.withLock { pool in
            if pool.next == idsPerRefill {
                pool.bytes.withUnsafeMutableBytes { fillRandom($0) }
                pool.next = 0
            }
            let offset = pool.next * 16
            pool.next += 1
            return pool.bytes.withUnsafeBytes { raw in
                var uuid = raw.loadUnaligned(fromByteOffset: offset, as: uuid_t.self)
                uuid.6 = (uuid.6 & 0x0F) | 0x40  // version 4
                uuid.8 = (uuid.8 & 0x3F) | 0x80  // RFC 4122 variant
                return UUID(uuid: uuid)
            }
        }
    }
}
