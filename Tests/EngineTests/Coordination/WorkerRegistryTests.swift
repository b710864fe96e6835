import Testing

@testable import StreamKitEngine

extension CoordinationTests {
    @Suite("WorkerRegistry")
    struct WorkerRegistryTests {
        let second = CoordinationTests.second
        let t0 = CoordinationTests.t0

        // MARK: - Registration and inventory

        @Test("register adds a live worker and returns its generation and the inventory")
        func registerAddsWorker() throws {
            var registry = WorkerRegistry()

            let registration = try registry.register(
                workerID: "w1", metadata: ["zone": "a"], heartbeatInterval: 5 * second, now: t0)

            let expected = WorkerInfo(
                workerID: "w1", metadata: ["zone": "a"], heartbeatInterval: 5 * second, registeredAt: t0, lastSeenAt: t0
            )
            #expect(registration.generation == 1)
            #expect(registration.worker == expected)
            #expect(registration.replacedGeneration == nil)
            #expect(registration.evicted.isEmpty)
            #expect(registration.inventory == WorkerInventory(workers: [expected], version: 1))
            #expect(registry.inventory(now: t0) == registration.inventory)
            #expect(registry.count == 1)
        }

        @Test("the inventory lists live workers sorted by id in UTF-8 byte order")
        func inventorySorted() throws {
            var registry = WorkerRegistry()
            for id in ["b", "é", "a", "B", "a2"] {
                _ = try registry.register(workerID: id, metadata: [:], heartbeatInterval: second, now: t0)
            }

            let ids = registry.inventory(now: t0).workers.map(\.workerID)

            #expect(ids == ["B", "a", "a2", "b", "é"])
        }

        @Test("an empty registry has an empty inventory at version 0")
        func emptyInventory() {
            #expect(WorkerRegistry().inventory(now: t0) == .empty)
            #expect(WorkerInventory.empty.version == 0)
        }

        @Test("the version increases on register, replace, unregister and eviction, but not on heartbeats")
        func versionCountsMembershipChanges() throws {
            var registry = WorkerRegistry()
            let a = try registry.register(workerID: "a", metadata: [:], heartbeatInterval: second, now: t0)
            #expect(registry.version == 1)
            let b = try registry.register(workerID: "b", metadata: [:], heartbeatInterval: 10 * second, now: t0)
            #expect(registry.version == 2)

            try registry.heartbeat(workerID: "b", generation: b.generation, now: t0 + second)
            #expect(registry.version == 2)

            let a2 = try registry.register(workerID: "a", metadata: [:], heartbeatInterval: second, now: t0 + second)
            #expect(registry.version == 3)
            #expect(a2.generation > a.generation)

            let removed = registry.unregister(workerID: "a", generation: a2.generation)
            #expect(removed)
            #expect(registry.version == 4)

            #expect(registry.evictExpired(now: t0 + 100 * second) == ["b"])
            #expect(registry.version == 5)
            #expect(registry.inventory(now: t0 + 100 * second) == WorkerInventory(workers: [], version: 5))
        }

        @Test("generations increase across the registry and are not reused after unregister")
        func generationsNeverReused() throws {
            var registry = WorkerRegistry()
            let first = try registry.register(workerID: "w", metadata: [:], heartbeatInterval: second, now: t0)
            registry.unregister(workerID: "w", generation: first.generation)
            let other = try registry.register(workerID: "x", metadata: [:], heartbeatInterval: second, now: t0)
            let again = try registry.register(workerID: "w", metadata: [:], heartbeatInterval: second, now: t0)

            #expect([first.generation, other.generation, again.generation] == [1, 2, 3])
            CoordinationTests.expectError(.notFound) {
                try registry.heartbeat(workerID: "w", generation: first.generation, now: t0)
            }
        }

        // MARK: - Duplicate ids

        @Test("a duplicate worker id replaces the older registration and refuses its heartbeats")
        func duplicateReplaces() throws {
            var registry = WorkerRegistry()
            let old = try registry.register(workerID: "w", metadata: ["v": "1"], heartbeatInterval: second, now: t0)

            let new = try registry.register(
                workerID: "w", metadata: ["v": "2"], heartbeatInterval: 2 * second, now: t0 + second)
            let error = CoordinationTests.expectError(.notFound) {
                try registry.heartbeat(workerID: "w", generation: old.generation, now: t0 + second)
            }
            try registry.heartbeat(workerID: "w", generation: new.generation, now: t0 + 2 * second)

            #expect(new.replacedGeneration == old.generation)
            #expect(error?.message.contains("replaced") == true)
            #expect(registry.count == 1)
            let workers = registry.inventory(now: t0 + 2 * second).workers
            #expect(workers.map(\.metadata) == [["v": "2"]])
            #expect(workers.map(\.registeredAt) == [t0 + second])
            #expect(workers.map(\.lastSeenAt) == [t0 + 2 * second])
        }

        @Test("unregistering with a replaced generation leaves the newer registration in place")
        func unregisterReplacedIsNoOp() throws {
            var registry = WorkerRegistry()
            let old = try registry.register(workerID: "w", metadata: [:], heartbeatInterval: second, now: t0)
            let new = try registry.register(workerID: "w", metadata: [:], heartbeatInterval: second, now: t0)
            let version = registry.version

            let removedOld = registry.unregister(workerID: "w", generation: old.generation)
            #expect(!removedOld)
            #expect(registry.version == version)
            #expect(registry.inventory(now: t0).workers.count == 1)

            let removedNew = registry.unregister(workerID: "w", generation: new.generation)
            let removedAgain = registry.unregister(workerID: "w", generation: new.generation)
            #expect(removedNew)
            #expect(!removedAgain)
            #expect(registry.count == 0)
        }

        // MARK: - Heartbeats and eviction

        @Test("a heartbeat for an unknown worker, or with a generation never issued, is notFound")
        func heartbeatUnknown() throws {
            var registry = WorkerRegistry()
            let known = try registry.register(workerID: "w", metadata: [:], heartbeatInterval: second, now: t0)

            let unknown = CoordinationTests.expectError(.notFound) {
                try registry.heartbeat(workerID: "nobody", generation: 1, now: t0)
            }
            CoordinationTests.expectError(.notFound) {
                try registry.heartbeat(workerID: "w", generation: known.generation + 1, now: t0)
            }

            #expect(unknown?.message.contains("not registered") == true)
        }

        @Test("a worker is evicted after 3 missed intervals: live at lastSeen + 3 × interval, gone 1 ns later")
        func evictionBoundary() throws {
            var registry = WorkerRegistry()
            _ = try registry.register(workerID: "w", metadata: [:], heartbeatInterval: 10 * second, now: t0)
            let deadline = t0 + 30 * second

            #expect(registry.evictExpired(now: deadline).isEmpty)
            #expect(registry.inventory(now: deadline).workers.map(\.workerID) == ["w"])
            #expect(registry.evictExpired(now: deadline + 1) == ["w"])
            #expect(registry.count == 0)
            #expect(registry.evictExpired(now: deadline + 2).isEmpty)
        }

        @Test("heartbeats move lastSeenAt and postpone eviction")
        func heartbeatPostponesEviction() throws {
            var registry = WorkerRegistry()
            let registration = try registry.register(workerID: "w", metadata: [:], heartbeatInterval: second, now: t0)

            try registry.heartbeat(workerID: "w", generation: registration.generation, now: t0 + 3 * second)

            #expect(registry.evictExpired(now: t0 + 6 * second).isEmpty)
            #expect(registry.inventory(now: t0 + 6 * second).workers.first?.lastSeenAt == t0 + 3 * second)
            #expect(registry.evictExpired(now: t0 + 6 * second + 1) == ["w"])
        }

        @Test("a heartbeat at the deadline is accepted, one after it is refused and the worker must register again")
        func heartbeatAfterDeadline() throws {
            var registry = WorkerRegistry()
            let registration = try registry.register(workerID: "w", metadata: [:], heartbeatInterval: second, now: t0)
            try registry.heartbeat(workerID: "w", generation: registration.generation, now: t0 + 3 * second)

            let error = CoordinationTests.expectError(.notFound) {
                try registry.heartbeat(workerID: "w", generation: registration.generation, now: t0 + 6 * second + 1)
            }
            let again = try registry.register(
                workerID: "w", metadata: [:], heartbeatInterval: second, now: t0 + 7 * second)

            #expect(error?.message.contains("evicted") == true)
            #expect(again.replacedGeneration == registration.generation)
            #expect(registry.inventory(now: t0 + 7 * second).workers.map(\.workerID) == ["w"])
        }

        @Test("the inventory leaves out workers past their deadline before evictExpired removes them")
        func inventoryFiltersExpired() throws {
            var registry = WorkerRegistry()
            _ = try registry.register(workerID: "slow", metadata: [:], heartbeatInterval: second, now: t0)
            _ = try registry.register(workerID: "fast", metadata: [:], heartbeatInterval: 100 * second, now: t0)

            let inventory = registry.inventory(now: t0 + 4 * second)

            #expect(inventory.workers.map(\.workerID) == ["fast"])
            #expect(registry.count == 2)
            #expect(registry.evictExpired(now: t0 + 4 * second) == ["slow"])
        }

        @Test("evictExpired returns every expired id sorted and bumps the version once")
        func evictSeveral() throws {
            var registry = WorkerRegistry()
            for id in ["c", "a", "b"] {
                _ = try registry.register(workerID: id, metadata: [:], heartbeatInterval: second, now: t0)
            }
            _ = try registry.register(workerID: "live", metadata: [:], heartbeatInterval: 60 * second, now: t0)

            #expect(registry.evictExpired(now: t0 + 10 * second) == ["a", "b", "c"])
            #expect(registry.version == 5)
            #expect(registry.inventory(now: t0 + 10 * second).workers.map(\.workerID) == ["live"])
        }

        // MARK: - Validation and bounds

        @Test(
            "heartbeat intervals of 1 s and 300 s are accepted, 0 means the 30 s default",
            arguments: [
                (UInt64(1_000_000_000), UInt64(1_000_000_000)), (300_000_000_000, 300_000_000_000),
                (0, 30_000_000_000),
            ] as [(UInt64, UInt64)])
        func intervalAccepted(requested: UInt64, effective: UInt64) throws {
            var registry = WorkerRegistry()

            let registration = try registry.register(
                workerID: "w", metadata: [:], heartbeatInterval: requested, now: t0)

            #expect(registration.worker.heartbeatInterval == effective)
        }

        @Test(
            "a heartbeat interval under 1 s or over 300 s is invalidArgument naming the limit",
            arguments: [
                (UInt64(1), 1_000_000_000), (999_999_999, 1_000_000_000), (300_000_000_001, 300_000_000_000),
                (.max, 300_000_000_000),
            ] as [(UInt64, Int)])
        func intervalRefused(interval: UInt64, limit: Int) {
            var registry = WorkerRegistry()

            let error = CoordinationTests.expectError(.invalidArgument) {
                try registry.register(workerID: "w", metadata: [:], heartbeatInterval: interval, now: t0)
            }

            #expect(error?.limit == limit)
            #expect(registry.count == 0)
            #expect(registry.version == 0)
        }

        @Test("an empty worker id or one over 256 UTF-8 bytes is invalidArgument")
        func workerIDLimits() throws {
            var registry = WorkerRegistry()

            CoordinationTests.expectError(.invalidArgument) {
                try registry.register(workerID: "", metadata: [:], heartbeatInterval: second, now: t0)
            }
            let error = CoordinationTests.expectError(.invalidArgument) {
                try registry.register(
                    workerID: String(repeating: "w", count: 257), metadata: [:], heartbeatInterval: second, now: t0)
            }
            _ = try registry.register(
                workerID: String(repeating: "w", count: 256), metadata: [:], heartbeatInterval: second, now: t0)

            #expect(error?.limit == 256)
            #expect(registry.count == 1)
        }

        @Test("metadata over the byte limit (keys plus values) is invalidArgument; at the limit it is accepted")
        func metadataLimit() throws {
            var registry = WorkerRegistry(maxMetadataBytes: 10)

            _ = try registry.register(workerID: "w", metadata: ["key": "1234567"], heartbeatInterval: second, now: t0)
            let error = CoordinationTests.expectError(.invalidArgument) {
                try registry.register(workerID: "x", metadata: ["key": "12345678"], heartbeatInterval: second, now: t0)
            }

            #expect(error?.limit == 10)
            #expect(error?.value == 11)
        }

        @Test("a full registry refuses a new id with limitExceeded but accepts a new registration of a known id")
        func registryFull() throws {
            var registry = WorkerRegistry(maxWorkers: 2)
            _ = try registry.register(workerID: "a", metadata: [:], heartbeatInterval: second, now: t0)
            _ = try registry.register(workerID: "b", metadata: [:], heartbeatInterval: second, now: t0)

            let error = CoordinationTests.expectError(.limitExceeded) {
                try registry.register(workerID: "c", metadata: [:], heartbeatInterval: second, now: t0 + second)
            }
            let replaced = try registry.register(
                workerID: "a", metadata: [:], heartbeatInterval: second, now: t0 + second)

            #expect(error?.limit == 2)
            #expect(replaced.replacedGeneration == 1)
            #expect(registry.count == 2)
        }

        @Test("a full registry evicts expired workers to make room and reports them")
        func registryFullEvicts() throws {
            var registry = WorkerRegistry(maxWorkers: 2)
            _ = try registry.register(workerID: "old", metadata: [:], heartbeatInterval: second, now: t0)
            _ = try registry.register(workerID: "live", metadata: [:], heartbeatInterval: 60 * second, now: t0)

            let registration = try registry.register(
                workerID: "new", metadata: [:], heartbeatInterval: second, now: t0 + 3 * second + 1)

            #expect(registration.evicted == ["old"])
            #expect(registration.inventory.workers.map(\.workerID) == ["live", "new"])
            #expect(registration.inventory.version == 4)
        }

        @Test("the default bounds are 10,000 workers and 4 KiB of metadata")
        func defaults() {
            let registry = WorkerRegistry()

            #expect(registry.maxWorkers == 10_000)
            #expect(registry.maxMetadataBytes == 4_096)
            #expect(WorkerRegistry(maxWorkers: -1).maxWorkers == 1)
        }
    }
}
