import StreamKitProcessing
import Testing

// The examples of docs/processing.md, compiled and run against in-memory stand-ins.

/// A consumed entry, as the examples use it.
struct Entry: Sendable {
    var timestamp: Int64
    var payload: [UInt8]
}

struct Order: Sendable, Equatable {
    var id: Int
    var amount: Int
    var region: String

    init(id: Int, amount: Int, region: String = "eu") {
        self.id = id
        self.amount = amount
        self.region = region
    }

    init(decoding entry: Entry) throws {
        guard let first = entry.payload.first else { throw TestError(id: -1) }
        self.init(id: Int(first), amount: Int(first) * 10)
    }
}

struct Quote: Sendable, Equatable {
    var orderID: Int
    var price: Int
}

struct Receipt: Sendable, Equatable {
    var orderID: Int
}

/// Stand-ins for the services the examples call.
struct Pricing: Sendable {
    func quote(_ order: Order) async throws -> Quote { Quote(orderID: order.id, price: order.amount * 2) }
}

struct Payments: Sendable {
    let failures: Box<Int>

    func charge(_ order: Order) async throws -> Receipt {
        var fail = false
        failures.mutate { remaining in
            if remaining > 0 {
                remaining -= 1
                fail = true
            }
        }
        if fail { throw TestError(id: order.id) }
        return Receipt(orderID: order.id)
    }
}

struct Store: Sendable {
    let saved: Box<Int>

    func save<T>(_ values: [T]) async throws { saved.mutate { $0 += values.count } }
}

struct Metrics: Sendable {
    let count: Box<Int>

    func record(_ count: Int, rate: Double) { self.count.mutate { $0 += count } }
}

struct Log: Sendable {
    let warnings = Box(0)

    func warning(_ message: String) { warnings.mutate { $0 += 1 } }
}

/// `count` entries one second apart, each with a one-byte payload.
private func entries(_ count: Int) -> PlainSource<Entry> {
    PlainSource((0..<count).map { Entry(timestamp: Int64($0) * 1_000_000_000, payload: [UInt8($0 % 200)]) })
}

/// Orders with ids `0..<count`.
private func orders(_ count: Int) -> PlainSource<Order> {
    PlainSource((0..<count).map { Order(id: $0, amount: $0) })
}

@Suite("docs/processing.md examples")
struct DocExamplesTests {
    let pricing = Pricing()
    let log = Log()

    @Test("the introduction's pipeline runs end to end")
    func introduction() async throws {
        let store = Store(saved: Box(0))
        // Entry 3 has no payload (fails to decode); entry 0 decodes to amount 0 (filtered out).
        let entries = PlainSource((0..<10).map { Entry(timestamp: 0, payload: $0 == 3 ? [] : [UInt8($0)]) })
        let pricing = pricing

        let orders =
            entries
            .items()  // lift into StreamItem<Entry>
            .mapValues(stage: "decode") { try Order(decoding: $0) }  // a throw becomes a failed item
            .filterValues { $0.amount > 0 }
            .concurrentMap(workers: 8) { try await pricing.quote($0) }
            .batch(size: 500, latency: .milliseconds(50))

        for await item in orders {
            switch item.outcome {
            case .success(let quotes): try await store.save(quotes)
            case .failure(let failure): log.warning("\(failure)")  // the stage, the error, the original item
            }
        }

        #expect(store.saved.value == 8)
        #expect(log.warnings.value == 1)
    }

    @Test("tap example")
    func tapExample() async {
        let entries = entries(3)

        let logged = entries.items()
            .tap { item in if let failure = item.failure { print("failed: \(failure)") } }
            .mapValues { $0.payload.count }

        #expect(await collect(logged).compactMap(\.value) == [1, 1, 1])
    }

    @Test("dedupe example")
    func dedupeExample() async {
        let orders = PlainSource([Order(id: 1, amount: 1), Order(id: 1, amount: 1)])

        let dropped = ItemCounter()
        let unique = orders.items().dedupe(by: \.id, ttl: .seconds(300), capacity: 50_000, dropped: dropped)

        #expect(await collect(unique).count == 1)
        #expect(dropped.value == 1)
    }

    @Test("batch example")
    func batchExample() async throws {
        let store = Store(saved: Box(0))
        let entries = entries(1_200)

        let batches = entries.items().batch(size: 500, latency: .milliseconds(50))
        for await batch in batches {
            if let entries = batch.value { try await store.save(entries) }
        }

        #expect(store.saved.value == 1_200)
    }

    @Test("concurrentMap example")
    func concurrentMapExample() async {
        let orders = orders(100)
        let pricing = pricing

        let quoted = orders.items().concurrentMap(workers: 8, bufferLimit: 64, stage: "quote") { order in
            try await pricing.quote(order)
        }

        #expect(await collect(quoted).compactMap(\.value?.orderID) == Array(0..<100))
    }

    @Test("rateLimit and monitor example (within the burst, so nothing waits)")
    func timeExample() async {
        let orders = orders(3)
        let metrics = Metrics(count: Box(0))

        let paced = orders.items()
            .rateLimit(100, per: .seconds(1), burst: 20)
            .monitor(every: .seconds(10)) { report in metrics.record(report.count, rate: report.ratePerSecond) }

        #expect(await collect(paced).count == 3)
        #expect(metrics.count.value == 3)
    }

    @Test("event-time windows with aggregate example")
    func windowsExample() async {
        let entries = entries(150)

        let perMinute = entries.items()
            .tumblingWindows(of: .seconds(60), allowedLateness: .seconds(5)) { .nanoseconds($0.timestamp) }
            .aggregate { Double($0.payload.count) }  // count, sum, min, max, average per window

        #expect(await collect(perMinute).compactMap(\.value?.count) == [60, 60, 30])
    }

    @Test("route example")
    func routeExample() async {
        let orders = PlainSource([Order(id: 1, amount: 1, region: "eu"), Order(id: 2, amount: 1, region: "apac")])
        let seenEU = Box(0)
        let seenOther = Box(0)
        func handleEU(_ item: StreamItem<Order>) async { seenEU.mutate { $0 += 1 } }
        func handleOther(_ item: StreamItem<Order>) async { seenOther.mutate { $0 += 1 } }

        let routes = orders.items().route(by: \.region, to: ["eu", "us"])
        if let eu = routes.output(for: "eu") {
            Task { for await item in eu { await handleEU(item) } }
        }
        Task { for await item in routes.defaultOutput { await handleOther(item) } }

        #expect(await eventually { seenEU.value == 1 && seenOther.value == 1 })
    }

    @Test("dead letters with retries example")
    func deadLettersExample() async {
        // No charge fails here, so no retry waits on the real clock; retries are tested in DeadLetterTests.
        let orders = orders(4)
        let payments = Payments(failures: Box(0))
        let confirmed = Box(0)
        let parked = Box(0)
        func confirm(_ item: StreamItem<Receipt>) async { confirmed.mutate { $0 += 1 } }
        func park(_ item: StreamItem<Receipt>) async { parked.mutate { $0 += 1 } }

        let split = orders.items()
            .concurrentMap(workers: 4, stage: "charge") { try await payments.charge($0) }
            .retryFailures(ItemRetryPolicy(maxAttempts: 5)) { failure in
                guard let order = failure.item(as: Order.self) else { throw failure }
                return try await payments.charge(order)
            }
            .splitDeadLetters()
        Task { for await receipt in split.successes { await confirm(receipt) } }
        for await dead in split.deadLetters { await park(dead) }

        #expect(await eventually { confirmed.value == 4 })
        #expect(parked.value == 0)
    }

    @Test("circuit breaker example")
    func breakerExample() async {
        let orders = orders(2)
        let pricing = pricing

        let breaker = CircuitBreaker(configuration: .init(minimumRequests: 20, openTimeout: .seconds(10)))
        let quoted = orders.items().concurrentMap(workers: 8) { order in
            try await breaker.run { try await pricing.quote(order) }
        }

        #expect(
            await collect(quoted).compactMap(\.value) == [Quote(orderID: 0, price: 0), Quote(orderID: 1, price: 2)]
        )
    }

    @Test("testing with a manual clock example")
    func manualClockExample() async {
        let clock = ManualClock()
        let source = TestSource<Int>()
        let batches = Collector(source.items().batch(size: 100, latency: .seconds(10), clock: clock))
        await source.send(1)  // returns once the batcher has taken 1
        clock.advance(by: .seconds(10))  // the latency since the first value has passed
        #expect(await batches.next()?.value == [1])
    }
}
