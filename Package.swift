// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "StreamKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StreamKitLogFiles", targets: ["StreamKitLogFiles"]),
        .library(name: "StreamKitEngine", targets: ["StreamKitEngine"]),
        .library(name: "StreamKitWire", targets: ["StreamKitWire"]),
        .library(name: "StreamKitClient", targets: ["StreamKitClient"]),
        .library(name: "StreamKitProcessing", targets: ["StreamKitProcessing"]),
        .library(name: "StreamKitPostgres", targets: ["StreamKitPostgres"]),
        .library(name: "StreamKitEventSourcing", targets: ["StreamKitEventSourcing"]),
        .executable(name: "Benchmarks", targets: ["Benchmarks"]),
        .executable(name: "streamkit", targets: ["streamkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        // jwt-kit's own crypto package (same location as jwt-kit names it): HMAC for the synchronous token signer.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.1.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // Documentation only (`swift package generate-documentation`, scripts/docs.sh); adds nothing to the build.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: - C
        .systemLibrary(
            name: "CLZ4",
            path: "Sources/CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "CStreamKitSupport", path: "Sources/CStreamKitSupport"),
        // Allocation counting for the Benchmarks executable only (it replaces malloc for the process).
        .target(name: "CMallocCounter", path: "Sources/CMallocCounter"),

        // MARK: - Modules
        .target(
            name: "StreamKitLogFiles",
            dependencies: [
                "CLZ4",
                "CStreamKitSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Sources/LogFiles",
            swiftSettings: strict
        ),
        .target(
            name: "StreamKitEngine",
            dependencies: [
                "StreamKitLogFiles", "CStreamKitSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Engine",
            swiftSettings: strict
        ),
        .target(
            name: "StreamKitPostgres",
            dependencies: [
                "StreamKitEngine", "StreamKitLogFiles",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Postgres",
            swiftSettings: strict
        ),
        .target(
            name: "StreamKitWire",
            dependencies: [
                "StreamKitEngine", "StreamKitLogFiles",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Wire",
            swiftSettings: strict
        ),
        .target(
            name: "StreamKitProcessing",
            dependencies: [],
            path: "Sources/Processing",
            swiftSettings: strict
        ),
        .target(
            name: "StreamKitClient",
            dependencies: [
                "StreamKitWire", "StreamKitEngine", "StreamKitLogFiles", "StreamKitProcessing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/Client",
            swiftSettings: strict
        ),
        .target(
            name: "StreamKitEventSourcing",
            dependencies: ["StreamKitClient", .product(name: "Logging", package: "swift-log")],
            path: "Sources/EventSourcing",
            swiftSettings: strict
        ),

        // MARK: - Command-line tool
        .executableTarget(
            name: "streamkit",
            dependencies: [
                "StreamKitLogFiles", "StreamKitEngine", "StreamKitWire", "StreamKitClient", "StreamKitPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/streamkit",
            swiftSettings: strict
        ),

        // MARK: - Test tools
        .executableTarget(
            name: "streamkit-crash-child",
            dependencies: ["StreamKitEngine", .product(name: "Logging", package: "swift-log")],
            path: "Sources/CrashChild",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "streamkit-faults",
            dependencies: [
                "StreamKitClient", "StreamKitProcessing", "StreamKitTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/FaultHarness",
            swiftSettings: strict
        ),

        // MARK: - Benchmarks
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "StreamKitLogFiles",
                "StreamKitEngine",
                "StreamKitWire",
                "StreamKitClient",
                "StreamKitProcessing",
                "StreamKitPostgres",
                "CStreamKitSupport",
                "CMallocCounter",
                "CLZ4",
                "CSQLite",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks",
            swiftSettings: strict
        ),

        // MARK: - Tests
        .target(
            name: "StreamKitTestSupport",
            dependencies: [
                "StreamKitEngine",
                "StreamKitPostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            path: "Tests/Support",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StreamKitLogFilesTests",
            dependencies: ["StreamKitLogFiles", .product(name: "Logging", package: "swift-log")],
            path: "Tests/LogFilesTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StreamKitEngineTests",
            dependencies: [
                "StreamKitEngine", "StreamKitLogFiles", "streamkit-crash-child", "StreamKitTestSupport",
                "StreamKitPostgres", "CStreamKitSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/EngineTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StreamKitWireTests",
            dependencies: [
                "StreamKitWire", "StreamKitEngine", "StreamKitLogFiles",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                "StreamKitTestSupport",
            ],
            path: "Tests/WireTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StreamKitCLITests",
            dependencies: [
                "streamkit", "StreamKitEngine", "StreamKitTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CLITests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StreamKitClientTests",
            dependencies: [
                "StreamKitClient", "StreamKitWire", "StreamKitTestSupport", "StreamKitPostgres",
                "StreamKitEventSourcing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/ClientTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StreamKitProcessingTests",
            dependencies: ["StreamKitProcessing", "StreamKitTestSupport"],
            path: "Tests/ProcessingTests",
            swiftSettings: strict
        ),
    ]
)
