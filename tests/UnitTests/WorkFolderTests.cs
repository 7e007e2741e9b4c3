using MediaService.Grains.Processing;

namespace MediaService.UnitTests;

public sealed class WorkFolderTests : IDisposable
{
    private readonly string _parent = Directory.CreateTempSubdirectory("work-folder-tests-").FullName;

    public void Dispose() => Directory.Delete(_parent, recursive: true);

    private string Make(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_parent, name)).FullName;
        File.WriteAllText(Path.Combine(folder, "original"), "a job's copy");
        return folder;
    }

    [Fact]
    public void OnlyTheFoldersOfProcessesNoLongerRunningAreRemoved()
    {
        var dead = Make($"4000001-{Guid.NewGuid():N}");
        var running = Make($"4000002-{Guid.NewGuid():N}");
        var mine = Make($"{Environment.ProcessId}-{Guid.NewGuid():N}");
        var other = Make("not-a-work-folder");

        var removed = MediaProcessor.RemoveDeadWorkFolders(_parent, pid => pid == 4000002);

        Assert.Equal([dead], removed);
        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(running) && Directory.Exists(mine) && Directory.Exists(other));
    }

    [Fact]
    public void AMissingParentFolderIsNothingToClean() =>
        Assert.Empty(MediaProcessor.RemoveDeadWorkFolders(Path.Combine(_parent, "missing"), _ => false));
}
