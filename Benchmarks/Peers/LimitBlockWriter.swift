import CLZ4

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the `limit` peer's file: record-aligned blocks of at most `blockBytes` raw bytes (records as
/// little-endian `u32` length + bytes), each LZ4-compressed and written with one `write(2)` behind an
/// 8-byte header (`u32` raw length, `u32` stored length, little-endian). No CRC, no index: the floor.
struct LimitBlockWriter: ~Copyable {
    static let headerBytes = 8

    let path: String
    let blockBytes: Int
    private let fd: Int32
    private let raw: UnsafeMutableRawPointer
    private let output: UnsafeMutableRawPointer
    private let bound: Int
    private(set) var pendingBytes = 0
    private(set) var rawBytesWritten = 0
    private(set) var fileBytesWritten = 0
    private(set) var blocksWritten = 0

    init(path: String, blockBytes: Int) throws(PeerError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        self.fd = fd
        self.path = path
        self.blockBytes = blockBytes
        self.bound = Int(LZ4_compressBound(Int32(blockBytes)))
        self.raw = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 16)
        self.output = UnsafeMutableRawPointer.allocate(byteCount: Self.headerBytes + bound, alignment: 16)
    }

    deinit {
        close(fd)
        raw.deallocate()
        output.deallocate()
    }

    /// Appends one record; compresses and writes the block first when the record would not fit.
    @inline(__always)
    mutating func append(_ bytes: UnsafeRawPointer, count: Int) throws(PeerError) {
        if pendingBytes + 4 + count > blockBytes {
            guard 4 + count <= blockBytes else { throw .recordTooLarge(bytes: count, blockBytes: blockBytes) }
            try flush()
        }
        raw.storeBytes(of: UInt32(truncatingIfNeeded: count).littleEndian, toByteOffset: pendingBytes, as: UInt32.self)
        (raw + pendingBytes + 4).copyMemory(from: bytes, byteCount: count)
        pendingBytes += 4 + count
    }

    /// Compresses the pending records (if any) into one block and writes it.
    mutating func flush() throws(PeerError) {
        guard pendingBytes > 0 else { return }
        let stored = LZ4_compress_default(
            raw.assumingMemoryBound(to: CChar.self),
            (output + Self.headerBytes).assumingMemoryBound(to: CChar.self),
            Int32(pendingBytes),
            Int32(bound)
        )
        guard stored > 0 else {
            throw .compression(path: path, detail: "LZ4_compress_default returned \(stored) for \(pendingBytes) bytes")
        }
        output.storeBytes(of: UInt32(pendingBytes).littleEndian, toByteOffset: 0, as: UInt32.self)
        output.storeBytes(of: UInt32(stored).littleEndian, toByteOffset: 4, as: UInt32.self)
        let total = Self.headerBytes + Int(stored)
        var offset = 0
        while offset < total {
            let written = write(fd, output + offset, total - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            offset += written
        }
        rawBytesWritten += pendingBytes
        fileBytesWritten += total
        blocksWritten += 1
        pendingBytes = 0
    }

    /// `fdatasync(2)`.
    func sync() throws(PeerError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "fdatasync", path: path, errno: errno)
        }
    }
}
