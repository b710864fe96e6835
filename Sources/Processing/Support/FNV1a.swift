/// The 64-bit FNV-1a hash of a string's UTF-8 bytes: stable across processes and runs, unlike
/// `Hasher`, so a key lands in the same partition every time.
/// `package` so that tools of this package (the fault harness) share it.
@usableFromInline
package enum FNV1a {
    @inlinable
    package static func hash(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
