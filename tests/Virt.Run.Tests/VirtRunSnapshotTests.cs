using Virt.Tests.Shared;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests;

/// <summary><c>--save-snapshot</c>/<c>--snapshot-at</c> in one process, <c>--restore-snapshot</c> in another.</summary>
public sealed class VirtRunSnapshotTests
{
    private const int Rounds = 60;
    private const byte ExitValue = 0x21;
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(2);

    [Fact]
    public void RestoredProcessPrintsTheRestOfTheOutput()
    {
        using var files = new TempFiles();
        string rom = files.Write("print.rom", PrintingRom());
        string snapshot = files.PathOf("guest.snap");

        (int fullCode, string full, string fullErr) = Run(rom);
        Assert.True(fullCode == ((ExitValue << 1) | 1), fullErr);
        Assert.Equal(Rounds, full.Length);

        // What the guest printed up to the snapshot point: the same run cut off there.
        (_, string prefix, _) = Run(rom, "--max-instructions", "100000");
        Assert.InRange(prefix.Length, 1, Rounds - 1);

        (int saveCode, string saved, string saveErr) = Run(rom, "--save-snapshot", snapshot, "--snapshot-at", "100000");
        Assert.True(saveCode == fullCode, saveErr);
        Assert.Equal(full, saved);      // taking the snapshot does not disturb the run
        Assert.True(new FileInfo(snapshot).Length > 0);

        (int restoreCode, string rest, string restoreErr) = Run(rom, "--restore-snapshot", snapshot);
        Assert.True(restoreCode == fullCode, restoreErr);
        Assert.Equal(full, prefix + rest);
    }

    [Fact]
    public void SnapshotOfAnotherConfigurationOrACorruptOneExitsTwoNamingIt()
    {
        using var files = new TempFiles();
        string rom = files.Write("print.rom", PrintingRom());
        string snapshot = files.PathOf("guest.snap");
        Run(rom, "--save-snapshot", snapshot, "--snapshot-at", "50000", "--max-instructions", "60000");

        (int code, _, string err) = Run(rom, "-m", "64", "--restore-snapshot", snapshot);
        Assert.Equal(2, code);
        Assert.StartsWith($"Virt.Run: --restore-snapshot: '{snapshot}': The snapshot was taken on a machine of another configuration", err, StringComparison.Ordinal);
        Assert.Contains("memory region", err, StringComparison.Ordinal);

        byte[] bytes = File.ReadAllBytes(snapshot);
        string truncated = files.Write("truncated.snap", bytes[..(bytes.Length / 2)]);
        (code, _, err) = Run(rom, "--restore-snapshot", truncated);
        Assert.Equal(2, code);
        Assert.Contains("truncated", err, StringComparison.Ordinal);
    }

    [Fact]
    public void SaveSnapshotWithoutSnapshotAtIsRefused()
    {
        (int code, _, string err) = VirtRunProcess.RunVirt(s_limit, "--save-snapshot", "x.snap");
        Assert.Equal(2, code);
        Assert.Equal("Virt.Run: --save-snapshot needs --snapshot-at", err.Trim());
    }

    [Fact]
    public void HelpDescribesTheSnapshotOptions()
    {
        foreach (string option in new[] { "--save-snapshot FILE", "--snapshot-at N", "--restore-snapshot FILE" })
        {
            Assert.Contains(option, Virt.Run.CommandLine.RunOptionsParser.HelpText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ParserReadsTheSnapshotOptions()
    {
        Virt.Run.CommandLine.RunOptions options = Virt.Run.CommandLine.RunOptionsParser.Parse(["--save-snapshot", "a.snap", "--snapshot-at", "1000", "--restore-snapshot", "b.snap"]);
        Assert.Equal("a.snap", options.SaveSnapshotPath);
        Assert.Equal(1000, options.SnapshotAtInstructions);
        Assert.Equal("b.snap", options.RestoreSnapshotPath);
        var e = Assert.Throws<Virt.Run.CommandLine.RunOptionsException>(() => Virt.Run.CommandLine.RunOptionsParser.Parse(["--snapshot-at", "0", "--save-snapshot", "a.snap"]));
        Assert.Contains("--snapshot-at: '0'", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<Virt.Run.CommandLine.RunOptionsException>(() => Virt.Run.CommandLine.RunOptionsParser.Parse(["--snapshot-at", "5"]));
        Assert.Equal("--snapshot-at needs --save-snapshot", e.Message);
    }

    private static (int Code, string Stdout, string Stderr) Run(string rom, params string[] args) =>
        VirtRunProcess.RunVirt(s_limit, ["-bios", rom, "-display", "none", "-serial", "stdio", "-device", "isa-debug-exit", "--deterministic", .. args]);

    /// <summary>
    /// A ROM whose every round mixes a running value into 1 KiB of RAM at 1000:0000, prints 'a' + round % 26 to COM1
    /// (polling the line status register), and after <see cref="Rounds"/> rounds exits through isa-debug-exit.
    /// </summary>
    private static byte[] PrintingRom() => TestRoms.Rom(a =>
    {
        PrintingRoundsCode.Emit(a, Rounds, bytesPerRound: 0x400);
        a.mov(dx, 0x501);               // isa-debug-exit
        a.mov(al, ExitValue);
        a.@out(dx, al);
        a.hlt();
    });

    /// <summary>A temporary directory removed at the end of the test.</summary>
    private sealed class TempFiles : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("virt-snapshot-").FullName;

        public string PathOf(string name) => Path.Combine(_directory, name);

        public string Write(string name, byte[] bytes)
        {
            string path = PathOf(name);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }
}
