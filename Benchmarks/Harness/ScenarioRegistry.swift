/// Every scenario, in report order, and selection by name or prefix.
enum ScenarioRegistry {
    static let all: [any Scenario] = [
        LogFilesAppendScenario(),
        LogFilesReadScenario(),
        EngineProduceScenario.single,
        EngineProduceScenario.manySegments,
        EngineGroupCommitScenario(),
        EngineConsumeScenario.segment,
        EngineConsumeScenario.space,
        EngineConsumeScenario.coldSegment,
        EngineConsumerScenario(),
        EnginePublishScenario(),
        EngineRecoveryScenario(),
        EngineRetentionScenario(),
        EngineMemoryScenario(),
        WireCodecScenario(),
        WireScenario.produce,
        WireScenario.consume,
        WireScenario.publish,
        ProcessingScenario(),
        ProcessingPipelineScenario(),
        PostgresProduceScenario.oneNode,
        PostgresProduceScenario.threeNodes,
        PostgresConsumeScenario.segment,
        PostgresConsumeScenario.space,
        PostgresSubscribeScenario(),
    ]

    /// The quick suite when `patterns` is empty; otherwise every scenario whose name equals a pattern
    /// or starts with `pattern + "."`, in registry order, each once.
    static func select(_ patterns: [String], from scenarios: [any Scenario] = all) throws(UsageError) -> [any Scenario]
    {
        guard !patterns.isEmpty else { return scenarios.filter(\.inQuickSuite) }
        for pattern in patterns where !scenarios.contains(where: { matches($0.name, pattern) }) {
            throw .unknownScenario(pattern)
        }
        return scenarios.filter { scenario in patterns.contains { matches(scenario.name, $0) } }
    }

    static func matches(_ name: String, _ pattern: String) -> Bool {
        let prefix = pattern.hasSuffix(".") ? String(pattern.dropLast()) : pattern
        return name == prefix || name.hasPrefix(prefix + ".")
    }
}
