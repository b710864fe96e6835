import Foundation

/// One damaged copy of a source store: which file, what was done to it, and what the harness expects of the
/// tools as a consequence (``Expectation``), judged from the healthy store's ``StoreLayout``.
struct DamageCase: Sendable {
    /// What is done to the file.
    enum Kind: Sendable, CustomStringConvertible {
        /// One bit flipped.
        case flip(offset: Int, bit: Int)
        /// The file cut to `offset` bytes.
        case cut(offset: Int)
        /// `length` bytes from `offset` set to zero (a lost sector, say).
        case zero(offset: Int, length: Int)
        /// Random bytes appended.
        case append([UInt8])

        var description: String {
            switch self {
            case .flip(let offset, let bit): "flip byte \(offset) bit \(bit)"
            case .cut(let offset): "cut at \(offset)"
            case .zero(let offset, let length): "zero \(length) bytes at \(offset)"
            case .append(let bytes): "append \(bytes.count) random bytes"
            }
        }
    }

    /// What the tools must (or may) do with the copy.
    struct Expectation: Sendable {
        /// The damage reaches a header or a block or frame a reader uses: reporting it is expected.
        var touchesData: Bool
        /// The damage has the shape of a torn tail (docs/semantics.md, "Recovery on open": invalid bytes at the end
        /// of the last log or WAL file, with nothing valid after them), and no position after what it makes
        /// unreadable is left. Recovery may then cut it off without an error; what it held is gone.
        var tailLike: Bool
        /// A cut exactly at a block or frame boundary of that file: what is left is a valid, shorter store, and no
        /// tool can tell.
        var cleanCut: Bool
        /// Positions the damage makes unreadable that no other file holds.
        var lost: Int
        /// A tool that reports success must deliver positions 1…requiredCount at least (all of them unless the
        /// damage is tail-like: then the whole transactions before the first lost position).
        var requiredCount: Int
    }

    /// Numbers the cases of a run (for the work directory and for replaying).
    var number: Int
    /// The source store's index in the phase's list.
    var store: Int
    /// The file's index in the source store's layout.
    var file: Int
    var kind: Kind

    /// Applies the damage to `path` (a copy of the file); false when that changed no byte (zeros over zeros).
    func apply(to path: String) throws -> Bool {
        let url = URL(fileURLWithPath: path)
        var bytes = [UInt8](try Data(contentsOf: url))
        switch kind {
        case .flip(let offset, let bit):
            bytes[offset] ^= UInt8(1) << UInt8(bit)
        case .cut(let offset):
            bytes.removeSubrange(offset...)
        case .zero(let offset, let length):
            let range = offset..<min(bytes.count, offset + length)
            if bytes[range].allSatisfy({ $0 == 0 }) { return false }
            for index in range { bytes[index] = 0 }
        case .append(let extra):
            bytes += extra
        }
        try Data(bytes).write(to: url)
        return true
    }

    /// What the tools must do with damage that changes nothing a reader uses: succeed with every entry.
    static func harmless(entries: [DumpedEntry]) -> Expectation {
        Expectation(touchesData: false, tailLike: false, cleanCut: false, lost: 0, requiredCount: entries.count)
    }

    /// What the tools must do with this damage, given the healthy store's `layout` and `entries` (by position).
    func expectation(_ layout: StoreLayout, entries: [DumpedEntry]) -> Expectation {
        let target = layout.files[file]
        // Sidecars and spares are derivable or unread.
        guard target.kind == .log || target.kind == .wal else { return Self.harmless(entries: entries) }
        let damaged: Range<Int>
        switch kind {
        case .flip(let offset, _): damaged = offset..<(offset + 1)
        case .cut(let offset): damaged = offset..<max(offset, target.size)
        case .zero(let offset, let length): damaged = offset..<min(target.size, offset + length)
        case .append: damaged = target.size..<target.size
        }
        let header = !damaged.isEmpty && damaged.lowerBound < StoreLayout.headerBytes
        let units =
            header
            ? target.units : target.units.filter { $0.offset < damaged.upperBound && damaged.lowerBound < $0.end }
        let touches = header || !units.isEmpty
        let lostPositions = Set(units.flatMap { $0.positions }.filter { !layout.heldElsewhere($0, besides: file) })
        // The documented torn tail: invalid bytes at the end of the last log or WAL file, nothing valid after them.
        let tailShaped: Bool
        switch kind {
        case .cut: tailShaped = layout.isLastOfKind(file)
        case .flip, .zero:  // Nothing valid after the damage: no unit after it is left intact.
            tailShaped =
                layout.isLastOfKind(file) && !header && (units.isEmpty || units.last?.end == target.units.last?.end)
        case .append: tailShaped = layout.isLastOfKind(file)
        }
        // A torn tail that leaves a later position readable is a gap, not a tail.
        let firstLost = lostPositions.min()
        let survivorAfterLoss =
            firstLost.map { first in
                first < layout.lastPosition
                    && ((first + 1)...layout.lastPosition).contains { !lostPositions.contains($0) }
            } ?? false
        let tailLike = tailShaped && !survivorAfterLoss
        var cleanCut = false
        if case .cut(let offset) = kind, tailLike {
            cleanCut = offset == StoreLayout.headerBytes || target.units.contains { $0.end == offset }
        }
        var required = entries.count
        if tailLike, let first = firstLost, first >= 1, Int(first) <= entries.count {
            // Back to the start of the transaction the first lost position belongs to.
            var start = Int(first)
            let transaction = entries[start - 1].transactionID
            while start > 1 && entries[start - 2].transactionID == transaction { start -= 1 }
            required = start - 1
        }
        return Expectation(
            touchesData: touches, tailLike: tailLike, cleanCut: cleanCut, lost: lostPositions.count,
            requiredCount: required)
    }
}
