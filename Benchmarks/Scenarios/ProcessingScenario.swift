import StreamKitProcessing

/// `processing.operators`: per-element overhead of the processing operators, in ns/element, against a
/// plain loop and a bare `for await` over the same in-memory source. One row (streamkit); the figures
/// are in `extras`: `<op>_ns` is the time per element of the whole pipeline, `<op>_overhead_ns` that
/// minus the bare `for await`. `records`/`seconds` are those of the `mapValues` pipeline.
struct ProcessingScenario: Scenario {
    let name = "processing.operators"
    let summary = "ns/element of mapValues, filterValues, chunk, batch, concurrentMap vs a plain loop"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        try await ProcessingBench(options: options, progress: progress).run(scenario: name)
    }
}

/// The timed loops of `processing.operators`. Each figure is the median of 3 timed runs after one
/// untimed warm-up run. Every loop passes each element through a non-inlined identity function and
/// folds it into a checksum that is verified, so the compiler cannot turn a loop into a formula; the
/// plain loop and the bare `for await` pay that same call (about 1.4 ns).
private struct ProcessingBench {
    let options: BenchOptions
    let progress: any ProgressReporting

    func run(scenario: String) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 200_000 : 1_000_000)
        let concurrentRecords = max(1, records / 10)
        let expected = (0..<records).reduce(0) { $0 &+ $1 }
        let source = IntSource(count: records)
        let steps = 7
        var extras: [String: String] = [:]

        progress.update(scenario, done: 0, total: steps)
        let loop = try time(records, expected: expected) {
            var sum = 0
            for value in 0..<source.count { sum &+= Self.opaque(value) }
            return sum
        }
        progress.update(scenario, done: 1, total: steps)
        let bare = try await timeAsync(records, expected: expected) {
            var sum = 0
            for await value in source { sum &+= Self.opaque(value) }
            return sum
        }
        progress.update(scenario, done: 2, total: steps)
        let map = try await timeAsync(records, expected: expected &* 2) {
            var sum = 0
            for await item in source.items().mapValues({ $0 &* 2 }) { sum &+= Self.opaque(item.value ?? 0) }
            return sum
        }
        progress.update(scenario, done: 3, total: steps)
        // The predicate keeps every element (the threshold is opaque to the optimiser), so the loop
        // makes as many sink calls as the bare `for await` and the difference is the filter itself.
        let threshold = Self.opaque(-1)
        let filter = try await timeAsync(records, expected: expected) {
            var sum = 0
            for await item in source.items().filterValues({ $0 > threshold }) { sum &+= Self.opaque(item.value ?? 0) }
            return sum
        }
        progress.update(scenario, done: 4, total: steps)
        let chunk = try await timeAsync(records, expected: expected) {
            var sum = 0
            for await item in source.items().chunk(size: 100) { sum &+= Self.opaque(item.value?.reduce(0, &+) ?? 0) }
            return sum
        }
        progress.update(scenario, done: 5, total: steps)
        let batch = try await timeAsync(records, expected: expected) {
            var sum = 0
            for await item in source.items().batch(size: 100, latency: .seconds(1)) {
                sum &+= Self.opaque(item.value?.reduce(0, &+) ?? 0)
            }
            return sum
        }
        progress.update(scenario, done: 6, total: steps)
        let concurrentSource = IntSource(count: concurrentRecords)
        let concurrentExpected = (0..<concurrentRecords).reduce(0) { $0 &+ $1 } &* 2
        let concurrent = try await timeAsync(concurrentRecords, expected: concurrentExpected) {
            var sum = 0
            for await item in concurrentSource.items().concurrentMap(workers: 2, { $0 &* 2 }) {
                sum &+= Self.opaque(item.value ?? 0)
            }
            return sum
        }
        progress.update(scenario, done: steps, total: steps)

        let figures: [(String, Double)] = [
            ("plain_loop", loop.nanosecondsPerElement),
            ("for_await", bare.nanosecondsPerElement),
            ("map_values", map.nanosecondsPerElement),
            ("filter_values", filter.nanosecondsPerElement),
            ("chunk_100", chunk.nanosecondsPerElement),
            ("batch_100", batch.nanosecondsPerElement),
            ("concurrent_map_2", concurrent.nanosecondsPerElement),
        ]
        for (label, nanoseconds) in figures {
            extras["\(label)_ns"] = Self.format(nanoseconds)
            if label != "plain_loop", label != "for_await" {
                extras["\(label)_overhead_ns"] = Self.format(nanoseconds - bare.nanosecondsPerElement)
            }
        }
        extras["concurrent_map_records"] = String(concurrentRecords)
        return [
            Measurement(
                scenario: scenario,
                system: .streamkit,
                records: records,
                seconds: map.seconds,
                payloadBytes: records * MemoryLayout<Int>.size,
                payloadBytesPerRecord: MemoryLayout<Int>.size,
                batch: 100,
                durability: .none,
                extras: extras
            )
        ]
    }

    private struct Timing {
        var seconds: Double
        var elements: Int
        var nanosecondsPerElement: Double { seconds * 1e9 / Double(max(1, elements)) }
    }

    private func time(_ elements: Int, expected: Int, _ body: () -> Int) throws -> Timing {
        guard body() == expected else { throw ChecksumMismatch() }
        var runs: [Double] = []
        for _ in 0..<3 {
            let start = MonotonicClock.nanoseconds()
            let sum = body()
            runs.append(MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds()))
            guard sum == expected else { throw ChecksumMismatch() }
        }
        return Timing(seconds: runs.sorted()[1], elements: elements)
    }

    private func timeAsync(_ elements: Int, expected: Int, _ body: () async -> Int) async throws -> Timing {
        guard await body() == expected else { throw ChecksumMismatch() }
        var runs: [Double] = []
        for _ in 0..<3 {
            let start = MonotonicClock.nanoseconds()
            let sum = await body()
            runs.append(MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds()))
            guard sum == expected else { throw ChecksumMismatch() }
        }
        return Timing(seconds: runs.sorted()[1], elements: elements)
    }

    /// Keeps the plain loop from being folded into a closed-form sum.
    @inline(never)
    private static func opaque(_ value: Int) -> Int { value }

    private static func format(_ nanoseconds: Double) -> String {
        String(Double(Int((nanoseconds * 100).rounded())) / 100)
    }
}

/// A loop produced a wrong checksum: the measurement is not trustworthy.
private struct ChecksumMismatch: Error, CustomStringConvertible {
    var description: String { "processing.operators: checksum mismatch" }
}

/// `0..<count` as a concrete, non-suspending `AsyncSequence` (the cheapest possible source).
private struct IntSource: AsyncSequence, Sendable {
    typealias Element = Int
    typealias Failure = Never

    let count: Int

    func makeAsyncIterator() -> Iterator { Iterator(count: count) }

    struct Iterator: AsyncIteratorProtocol {
        typealias Failure = Never
        let count: Int
        var next = 0

        @inline(__always)
        mutating func next(isolation actor: isolated (any Actor)?) async -> Int? {
            guard next < count else { return nil }
            defer { next += 1 }
            return next
        }

        mutating func next() async -> Int? { await next(isolation: nil) }
    }
}
