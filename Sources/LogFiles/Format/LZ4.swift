internal import CLZ4

/// LZ4 block-format compression (liblz4).
enum LZ4 {
    /// Worst-case compressed size of `count` bytes.
    static func bound(_ count: Int) -> Int { Int(LZ4_compressBound(Int32(count))) }

    /// Compresses `source` into `destination`; returns the compressed size, or 0 if it did not fit.
    static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return 0 }
        return Int(
            LZ4_compress_default(
                src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(destination.count)))
    }

    /// Decompresses `source` into `destination`, which must be exactly the raw size; returns the bytes written
    /// or a negative number for malformed input (never reads or writes out of bounds).
    static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return -1 }
        return Int(
            LZ4_decompress_safe(
                src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(destination.count)))
    }
}
