internal import CStreamKitSupport

/// CRC32C (Castagnoli), the checksum of every block, frame and header in StreamKit's files.
public enum CRC32C {
    /// The CRC32C of `bytes`, continuing from `crc` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return update(crc, base, bytes.count)
    }

    /// The CRC32C of a byte collection.
    public static func checksum(_ bytes: some Collection<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        if let value = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), continuing: crc) })
        {
            return value
        }
        return Array(bytes).withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// Whether the SSE4.2 instruction is in use (otherwise the portable slicing-by-8 tables).
    public static var isHardwareAccelerated: Bool { sk_crc32c_is_hardware() != 0 }

    @usableFromInline
    static func update(_ crc: UInt32, _ base: UnsafeRawPointer, _ count: Int) -> UInt32 {
        sk_crc32c(crc, base, count)
    }

    package static func portable(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        return sk_crc32c_portable(0, base, bytes.count)
    }
}
