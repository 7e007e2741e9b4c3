using System.Globalization;
using Xunit.Abstractions;

namespace MediaService.IntegrationTests.Faults;

/// <summary>
/// The fault suite: real silos, frontends, PostgreSQL, s3rver and nginx of its own; clients of every kind upload through
/// nginx while frontends and silos are killed (before, at and after the last byte, and during completion), S3 refuses
/// connections, hangs or fails single requests, and PostgreSQL is stopped. No upload a client was told complete may be
/// lost, no item may stay receiving or completing, and S3 may hold no object that no item accounts for.
/// <c>FAULT_UPLOADS</c> (default 30) and <c>FAULT_SEED</c> make longer runs (<c>bench/fault-bench.sh</c>); with
/// <c>FAULT_REPORT</c>, the report is also written to that file.
/// </summary>
[Collection(FaultSuiteCollection.Name)]
public sealed class CrashConsistencyTests(ITestOutputHelper output)
{
    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    [Fact]
    public async Task NoUploadToldCompleteIsLostAndNothingStaysUnfinishedUnderCrashesAndOutages()
    {
        var uploads = Setting("FAULT_UPLOADS", 30);
        var seed = Setting("FAULT_SEED", 20261201);
        await using var stack = await FaultStack.StartAsync(silos: 2, frontends: 2, new Dictionary<string, string?>
        {
            ["S3:PartSizeBytes"] = (5 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            ["Uploads:MaxUploadBytes"] = (1L << 30).ToString(CultureInfo.InvariantCulture),
            ["S3:BreakerBreakDuration"] = "00:00:02",
            ["Postgres:BreakerBreakDuration"] = "00:00:02",
            // A one-shot upload whose request died is expired soon, so that the checker sees every item end.
            ["Uploads:OneShotIdleExpiry"] = "00:00:10",
            ["Uploads:CompletionReminderDue"] = "00:00:03",
            ["RateLimits:Enabled"] = "false",
            ["Metadata:IndexRetryPeriod"] = "00:01:00",
        });
        var lines = new List<string>();
        var run = new FaultRun(stack, line =>
        {
            lock (lines)
            {
                lines.Add(line);
            }
        });

        var report = await run.RunAsync(FaultRun.Plan(uploads, seed), workers: 3);

        foreach (var line in lines)
        {
            output.WriteLine(line);
        }

        var table = report.ToMarkdown();
        output.WriteLine(table);
        if (Environment.GetEnvironmentVariable("FAULT_REPORT") is { Length: > 0 } path)
        {
            await File.WriteAllTextAsync(path, table + "\n" + string.Join('\n', lines) + "\n");
        }

        Assert.True(report.Lost.Count == 0, $"Uploads told complete were lost:\n{table}");
        Assert.True(report.Stuck.Count == 0, $"Items stayed unfinished:\n{table}");
        Assert.True(report.OrphanObjects.Count == 0, $"S3 holds objects no item accounts for:\n{table}");
        Assert.True(report.ToldComplete >= report.Uploads * 3 / 4, $"Too few uploads finished for the run to mean anything:\n{table}");
        Assert.True(report.Rows.All(r => r.Injected > 0), $"A fault kind was never injected:\n{table}");
    }
}

/// <summary>The fault suite runs alone: it kills processes and stops servers (its own), and it is CPU-heavy.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultSuiteCollection
{
    public const string Name = "fault suite";
}
