import StreamKitTestSupport

/// The damage cases of a run, one at a time, from the seed: first (with `everyByte`) a flip of a random bit and a
/// cut at every byte of every file of the tiny source stores, then random damage to any source store for as long
/// as there is time: a flip (45 %), a cut (30 %), a run of zeros (15 %) or random bytes appended (10 %), in a file
/// chosen by size.
struct DamageCases {
    private let sources: [SourceStore]
    private var random: SplitMix64
    private var exhaustive: [(store: Int, file: Int, offset: Int)] = []
    private var exhaustiveIndex = 0
    private var pendingCut: DamageCase?
    private var number = 0

    /// Cases of the every-byte pass in all (a flip and a cut per byte).
    let everyByteTotal: Int

    init(sources: [SourceStore], everyByte: Bool, random: SplitMix64) {
        self.sources = sources
        self.random = random
        if everyByte {
            for (store, source) in sources.enumerated() where source.name.hasPrefix("tiny") {
                for (file, layout) in source.layout.files.enumerated() {
                    for offset in 0..<layout.size { exhaustive.append((store, file, offset)) }
                }
            }
        }
        everyByteTotal = exhaustive.count * 2
    }

    /// Whether the case came from the every-byte pass.
    func isExhaustive(_ damage: DamageCase) -> Bool { damage.number <= everyByteTotal }

    mutating func next() -> DamageCase {
        number += 1
        if let cut = pendingCut {
            pendingCut = nil
            return DamageCase(number: number, store: cut.store, file: cut.file, kind: cut.kind)
        }
        if exhaustiveIndex < exhaustive.count {
            let (store, file, offset) = exhaustive[exhaustiveIndex]
            exhaustiveIndex += 1
            pendingCut = DamageCase(number: 0, store: store, file: file, kind: .cut(offset: offset))
            return DamageCase(
                number: number, store: store, file: file,
                kind: .flip(offset: offset, bit: Int.random(in: 0..<8, using: &random)))
        }
        let store = Int.random(in: 0..<sources.count, using: &random)
        let files = sources[store].layout.files
        let total = files.reduce(0) { $0 + max(1, $1.size) }
        var pick = Int.random(in: 0..<total, using: &random)
        var file = 0
        while pick >= max(1, files[file].size) {
            pick -= max(1, files[file].size)
            file += 1
        }
        let size = files[file].size
        let offset = size > 0 ? Int.random(in: 0..<size, using: &random) : 0
        let roll = Int.random(in: 0..<100, using: &random)
        let kind: DamageCase.Kind
        switch roll {
        case ..<45 where size > 0: kind = .flip(offset: offset, bit: Int.random(in: 0..<8, using: &random))
        case ..<75: kind = .cut(offset: offset)
        case ..<90 where size > 0: kind = .zero(offset: offset, length: Int.random(in: 1...64, using: &random))
        default:
            kind = .append(
                (0..<Int.random(in: 1...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
        return DamageCase(number: number, store: store, file: file, kind: kind)
    }
}
