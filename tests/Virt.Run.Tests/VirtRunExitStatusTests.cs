using Virt.Machine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>Every exit status Virt.Run documents, each from a real run of the program (see --help, "Exit status").</summary>
public sealed class VirtRunExitStatusTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(1);

    /// <summary>Runs Virt.Run on <paramref name="rom"/> as -bios with no display, plus <paramref name="args"/>.</summary>
    internal static (int ExitCode, string Stdout, string Stderr) RunRom(byte[] rom, params string[] args)
    {
        string dir = Directory.CreateTempSubdirectory("virt-run-").FullName;
        try
        {
            string path = Path.Combine(dir, "test.rom");
            File.WriteAllBytes(path, rom);
            return VirtRunProcess.RunVirt(s_limit, ["-bios", path, "-display", "none", "--deterministic", .. args]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void HaltForGoodExitsZero()
    {
        (int code, _, string err) = RunRom(TestRoms.HaltForGood(), "--timeout", "30");
        Assert.Equal(ProcessExitStatuses.Success, code);
        Assert.Equal(0, code);
        Assert.Equal(string.Empty, err);
    }

    [Fact]
    public void GuestResetWithNoRebootExitsZeroAsQemuDoes()
    {
        (int code, _, string err) = RunRom(TestRoms.KeyboardReset(), "-no-reboot", "--timeout", "30");
        Assert.Equal(0, code);
        Assert.Contains("ResetRequested", err, StringComparison.Ordinal);
    }

    [Fact]
    public void AcpiPowerOffOnThePcMachineExitsZero()
    {
        (int code, _, string err) = RunRom(TestRoms.AcpiPowerOff(), "-M", "pc", "--timeout", "30");
        Assert.Equal(ProcessExitStatuses.Success, code);
        Assert.Equal(string.Empty, err);
        (int isaCode, _, _) = RunRom(TestRoms.AcpiPowerOff(), "-M", "isapc", "--max-instructions", "100000");
        Assert.Equal(ProcessExitStatuses.LimitReached, isaCode); // no PIIX4 there: the guest spins
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(0x7F)]
    public void DebugExitOfVExitsWithTwiceVPlusOne(byte value)
    {
        (int code, _, _) = RunRom(TestRoms.DebugExit(value), "-device", "isa-debug-exit", "--timeout", "30");
        Assert.Equal((value << 1) | 1, code);
    }

    [Fact]
    public void BadMemorySizeExitsTwo()
    {
        (int code, _, string err) = VirtRunProcess.RunVirt(s_limit, "-m", "2T");
        Assert.Equal(ProcessExitStatuses.BadInput, code);
        Assert.Equal(2, code);
        Assert.StartsWith("Virt.Run: -m: '2T' is more than 1 TiB", err, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptFirmwareExitsTwoNamingTheOptionAndFile()
    {
        string dir = Directory.CreateTempSubdirectory("virt-run-").FullName;
        try
        {
            string path = Path.Combine(dir, "tiny.rom");
            File.WriteAllBytes(path, new byte[1000]);
            (int code, _, string err) = VirtRunProcess.RunVirt(s_limit, "-bios", path);
            Assert.Equal(2, code);
            Assert.StartsWith("Virt.Run: -bios: Firmware image:", err, StringComparison.Ordinal);
            Assert.Contains("tiny.rom", err, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void InstructionBudgetExits124LikeTheTimeout()
    {
        (int code, _, string err) = RunRom(TestRoms.Spin(), "--max-instructions", "10000");
        Assert.Equal(ProcessExitStatuses.LimitReached, code);
        Assert.Equal(124, code);
        Assert.Contains("BudgetExhausted", err, StringComparison.Ordinal);
    }

    [Fact]
    public void GuestTimeLimitExits124()
    {
        // Deterministic mode: 10 ms of guest time is 1,000,000 instructions at the default 100 per microsecond.
        (int code, _, string err) = RunRom(TestRoms.Spin(), "--deterministic", "--max-guest-time", "0.01", "--timeout", "60");
        Assert.Equal(ProcessExitStatuses.LimitReached, code);
        Assert.Contains("GuestTimeLimit", err, StringComparison.Ordinal);
    }

    [Fact]
    public void TripleFaultWithNoRebootExitsFourAndSaysWhy()
    {
        (int code, _, string err) = RunRom(TestRoms.TripleFault(), "-no-reboot", "--timeout", "30");
        Assert.Equal(ProcessExitStatuses.GuestCrashed, code);
        Assert.Equal(4, code);

        // At the default log level: the chain with CS:EIP and the control registers, then the stop.
        string ud2 = $"F000:{TestRoms.TripleFaultUd2Offset:X8}";
        Assert.Contains($"[Warning] Virt.Machine:   1: #UD at {ud2} (linear 000F{TestRoms.TripleFaultUd2Offset:X4}), real, CR0=", err, StringComparison.Ordinal);
        Assert.Contains("[Warning] Virt.Machine:   3: #DF at", err, StringComparison.Ordinal);
        Assert.Contains($"Virt.Run: stopped: Shutdown (the CPU shut down after a triple fault: #UD at {ud2}, #GP, #DF, #GP)", err, StringComparison.Ordinal);
    }

    [Fact]
    public void ResetLoopExitsFour()
    {
        (int code, _, string err) = RunRom(TestRoms.TripleFault(), "--timeout", "30");
        Assert.Equal(4, code);
        Assert.Contains("Virt.Run: stopped: ResetLoop (reset loop: the guest triple-faulted 8 times in a row", err, StringComparison.Ordinal);
    }

    [Fact]
    public void AllowResetLoopKeepsResettingUntilTheBudget()
    {
        (int code, _, string err) = RunRom(TestRoms.TripleFault(), "--allow-reset-loop", "--max-instructions", "100000");
        Assert.Equal(124, code);
        Assert.DoesNotContain("ResetLoop", err, StringComparison.Ordinal);

        // Rate-limited: a handful of warnings, not one per reset.
        int headers = err.Split('\n').Count(l => l.Contains("CPU shutdown (triple fault)", StringComparison.Ordinal));
        Assert.InRange(headers, 5, 20);
    }
}
