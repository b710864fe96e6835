/// `--svg FILE`: a plain-SVG grouped horizontal bar chart of records/s, one group per scenario (and
/// durability), one bar per system, with legend, axis, tick labels and the value on each bar. The
/// axis is logarithmic when the values span more than 100×. White background so it reads on GitHub
/// in light and dark mode.
struct SVGChart {
    struct Group {
        var label: String
        var bars: [(system: BenchSystem, value: Double)]
    }

    static let colors: [BenchSystem: String] = [
        .streamkit: "#2563eb", .sqlite: "#d97706", .limit: "#6b7280", .postgresRaw: "#059669",
    ]
    static let font = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif"

    let groups: [Group]
    var title = "StreamKit benchmarks: records/s (higher is better)"

    init(_ measurements: [Measurement]) {
        // Group keys in order of first appearance; durability shown where it distinguishes groups.
        var keys: [String] = []
        var bars: [String: [(system: BenchSystem, value: Double)]] = [:]
        var labels: [String: String] = [:]
        let scenariosWithSeveralDurabilities = Set(
            measurements.map(\.scenario).filter { scenario in
                Set(measurements.filter { $0.scenario == scenario }.map(\.durability)).count > 1
            })
        for row in measurements {
            let key = row.scenario + "\u{0}" + row.durability.rawValue
            if bars[key] == nil {
                keys.append(key)
                bars[key] = []
                let showDurability = scenariosWithSeveralDurabilities.contains(row.scenario) || row.durability == .fsync
                labels[key] = showDurability ? "\(row.scenario) (\(row.durability.rawValue))" : row.scenario
            }
            if bars[key]?.contains(where: { $0.system == row.system }) == false {
                bars[key]?.append((row.system, row.recordsPerSecond))
            }
        }
        groups = keys.map { key in
            let sorted = (bars[key] ?? []).sorted { lhs, rhs in
                (BenchSystem.allCases.firstIndex(of: lhs.system) ?? 0)
                    < (BenchSystem.allCases.firstIndex(of: rhs.system) ?? 0)
            }
            return Group(label: labels[key] ?? key, bars: sorted)
        }
    }

    func render() -> String {
        let width = 960.0
        let barHeight = 18.0
        let barGap = 4.0
        let groupGap = 18.0
        let top = 84.0
        let labelWidth = max(150.0, Double(groups.map(\.label.count).max() ?? 0) * 7.4 + 24)
        let plotLeft = labelWidth
        let plotRight = width - 78
        let plotWidth = plotRight - plotLeft

        let values = groups.flatMap { $0.bars.map(\.value) }.filter { $0 > 0 && $0.isFinite }
        let scale = AxisScale(values: values)

        var groupTops: [Double] = []
        var y = top
        for group in groups {
            groupTops.append(y)
            y += Double(max(1, group.bars.count)) * (barHeight + barGap) - barGap + groupGap
        }
        let plotBottom = y - groupGap + 8
        let height = plotBottom + 44

        var svg: [String] = []
        svg.append(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"\(Self.font)\">"
        )
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>")
        svg.append(text(title, x: 16, y: 28, size: 17, weight: "600", fill: "#111827"))
        svg.append(
            text(
                scale.isLogarithmic ? "log scale" : "linear scale", x: width - 16, y: 28, size: 12, fill: "#6b7280",
                anchor: "end"))

        // Legend.
        var legendX = 16.0
        let systems = BenchSystem.allCases.filter { system in
            groups.contains { $0.bars.contains { $0.system == system } }
        }
        for system in systems {
            svg.append(
                "<rect x=\"\(f(legendX))\" y=\"44\" width=\"14\" height=\"14\" rx=\"2\" fill=\"\(Self.colors[system] ?? "#000")\"/>"
            )
            svg.append(text(system.rawValue, x: legendX + 20, y: 56, size: 13, fill: "#111827"))
            legendX += 34 + Double(system.rawValue.count) * 8
        }

        // Grid and tick labels.
        for tick in scale.ticks {
            let x = plotLeft + scale.position(tick) * plotWidth
            svg.append(
                "<line x1=\"\(f(x))\" y1=\"\(f(top - 8))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" stroke=\"#e5e7eb\" stroke-width=\"1\"/>"
            )
            svg.append(
                text(AxisScale.label(tick), x: x, y: plotBottom + 18, size: 12, fill: "#374151", anchor: "middle"))
        }
        svg.append(
            "<line x1=\"\(f(plotLeft))\" y1=\"\(f(plotBottom))\" x2=\"\(f(plotRight))\" y2=\"\(f(plotBottom))\" stroke=\"#9ca3af\" stroke-width=\"1\"/>"
        )
        svg.append(
            "<line x1=\"\(f(plotLeft))\" y1=\"\(f(top - 8))\" x2=\"\(f(plotLeft))\" y2=\"\(f(plotBottom))\" stroke=\"#9ca3af\" stroke-width=\"1\"/>"
        )
        svg.append(
            text(
                "records/s", x: plotLeft + plotWidth / 2, y: plotBottom + 36, size: 12, fill: "#374151",
                anchor: "middle"))

        // Bars.
        for (group, groupTop) in zip(groups, groupTops) {
            let groupHeight = Double(max(1, group.bars.count)) * (barHeight + barGap) - barGap
            svg.append(
                text(
                    group.label, x: plotLeft - 10, y: groupTop + groupHeight / 2 + 4.5, size: 13, weight: "600",
                    fill: "#111827", anchor: "end"))
            for (index, bar) in group.bars.enumerated() {
                let barTop = groupTop + Double(index) * (barHeight + barGap)
                let length = bar.value > 0 ? max(1, scale.position(bar.value) * plotWidth) : 0
                let color = Self.colors[bar.system] ?? "#000000"
                svg.append(
                    "<rect x=\"\(f(plotLeft))\" y=\"\(f(barTop))\" width=\"\(f(length))\" height=\"\(f(barHeight))\" rx=\"2\" fill=\"\(color)\"><title>\(escape(group.label)) \(bar.system.rawValue): \(NumberFormat.rate(bar.value)) records/s</title></rect>"
                )
                svg.append(
                    text(
                        NumberFormat.compact(bar.value), x: plotLeft + length + 5, y: barTop + barHeight / 2 + 4.5,
                        size: 12, fill: "#111827"))
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    private func text(
        _ content: String, x: Double, y: Double, size: Double, weight: String = "400", fill: String,
        anchor: String = "start"
    ) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" font-weight=\"\(weight)\" fill=\"\(fill)\" text-anchor=\"\(anchor)\">\(escape(content))</text>"
    }

    private func f(_ value: Double) -> String { NumberFormat.fixed(value, digits: 1) }

    private func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
