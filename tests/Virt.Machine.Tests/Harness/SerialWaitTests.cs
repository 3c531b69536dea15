using System.Text.RegularExpressions;
using Xunit;

namespace Virt.Machine.Tests.Harness;

/// <summary>Machine.WaitForSerialAsync: found, budget, timeout, cancellation, guest stops; an exact, deterministic stop.</summary>
public sealed class SerialWaitTests
{
    private const string BootText = "booting...\nREADY\n";
    private const long Budget = 10_000_000;
    private static readonly TimeSpan s_generousTimeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task FindsThePatternAndStopsRightAfterTheByteThatCompletesIt()
    {
        byte[] image = HarnessGuests.Image(BootText, HarnessGuests.Tail.Loop);
        using Machine first = HarnessGuests.Build(image);
        using Machine second = HarnessGuests.Build(image);

        SerialWaitResult a = await first.WaitForSerialAsync("READY", Budget, s_generousTimeout);
        SerialWaitResult b = await second.WaitForSerialAsync("READY", Budget, s_generousTimeout);

        Assert.True(a.Found, a.ToString());
        Assert.Null(a.Stop);
        Assert.Equal("READY", a.MatchedText);
        Assert.Equal("booting...\nREADY".Length, a.MatchEndOffset);
        Assert.Equal("booting...\nREADY", first.GetSerialCapture(0).GetText());
        Assert.Equal(a.RetiredInstructions, first.Cpu.RetiredInstructions);
        Assert.Equal(a.RetiredInstructions, b.RetiredInstructions);
        Assert.Equal(a.InstructionsSpent, b.InstructionsSpent);

        // The exact point: single-step a third machine until the capture holds the "Y"; the wait stopped at that count.
        using Machine stepped = HarnessGuests.Build(image);
        SerialCapture capture = stepped.GetSerialCapture(0);
        while (capture.TotalBytes < a.MatchEndOffset)
        {
            stepped.Step();
        }

        Assert.Equal(stepped.Cpu.RetiredInstructions, a.RetiredInstructions);
    }

    [Fact]
    public async Task TheMachineRunsOnAfterAMatchAndTheNextWaitSearchesPastIt()
    {
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image(BootText, HarnessGuests.Tail.Halt));

        SerialWaitResult ready = await machine.WaitForSerialAsync("READY", Budget, s_generousTimeout);
        SerialWaitResult newline = await machine.WaitForSerialAsync("\n", Budget, s_generousTimeout);
        SerialWaitResult again = await machine.WaitForSerialAsync("READY", Budget, s_generousTimeout);

        Assert.True(ready.Found);

        // The line feed after "booting..." came before the first match: the second wait finds the one after READY.
        Assert.True(newline.Found);
        Assert.Equal(BootText.Length, newline.MatchEndOffset);
        Assert.True(newline.InstructionsSpent > 0);
        Assert.False(again.Found);
        Assert.Equal(MachineStopKind.HaltedForGood, again.Stop!.Kind);
    }

    [Fact]
    public async Task APatternSplitAcrossRunsIsFound()
    {
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image(BootText, HarnessGuests.Tail.Loop));
        SerialCapture capture = machine.GetSerialCapture(0);
        while (capture.TotalBytes < "booting...\nRE".Length)
        {
            machine.Step();
        }

        SerialWaitResult result = await machine.WaitForSerialAsync("READY", Budget, s_generousTimeout);

        Assert.True(result.Found);
        Assert.Equal("booting...\nREADY".Length, result.MatchEndOffset);
    }

    [Fact]
    public async Task TextAlreadyPrintedIsFoundWithoutRunning()
    {
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image(BootText, HarnessGuests.Tail.Halt));
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(Budget).Kind);
        long retired = machine.Cpu.RetiredInstructions;

        SerialWaitResult result = await machine.WaitForSerialAsync("READY", Budget, s_generousTimeout);

        Assert.True(result.Found);
        Assert.Equal(0, result.InstructionsSpent);
        Assert.Equal(retired, machine.Cpu.RetiredInstructions);
    }

    [Fact]
    public async Task ARegexIsFoundAtTheSameExactPoint()
    {
        byte[] image = HarnessGuests.Image(BootText, HarnessGuests.Tail.Loop);
        using Machine literal = HarnessGuests.Build(image);
        using Machine regex = HarnessGuests.Build(image);

        SerialWaitResult a = await literal.WaitForSerialAsync("READY", Budget, s_generousTimeout);
        SerialWaitResult b = await regex.WaitForSerialAsync(new Regex("RE[A-Z]DY"), Budget, s_generousTimeout);

        Assert.True(b.Found);
        Assert.Equal("READY", b.MatchedText);
        Assert.Equal(a.RetiredInstructions, b.RetiredInstructions);
    }

    [Fact]
    public async Task APatternNeverPrintedEndsWithTheBudget()
    {
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image(BootText, HarnessGuests.Tail.Loop));

        SerialWaitResult result = await machine.WaitForSerialAsync("login:", 100_000, s_generousTimeout);

        Assert.False(result.Found);
        Assert.Null(result.MatchedText);
        Assert.Equal(MachineStopKind.BudgetExhausted, result.Stop!.Kind);
        Assert.Equal(100_000, result.InstructionsSpent);

        // Still usable: another run continues from there.
        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Run(1_000).Kind);
        Assert.Equal(result.RetiredInstructions + 1_000, machine.Cpu.RetiredInstructions);
    }

    [Fact]
    public async Task AWaitEndsWithTheTimeout()
    {
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image(BootText, HarnessGuests.Tail.Loop));

        SerialWaitResult result = await machine.WaitForSerialAsync("login:", long.MaxValue, TimeSpan.FromMilliseconds(50));

        Assert.False(result.Found);
        Assert.Equal(MachineStopKind.Timeout, result.Stop!.Kind);
        Assert.Equal("booting...\nREADY\n", machine.GetSerialCapture(0).GetText());
    }

    [Fact]
    public async Task AWaitEndsWhenCancelled()
    {
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image(BootText, HarnessGuests.Tail.Loop));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        using var later = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        SerialWaitResult before = await machine.WaitForSerialAsync("login:", long.MaxValue, Timeout.InfiniteTimeSpan, cancelled.Token);
        SerialWaitResult during = await machine.WaitForSerialAsync("login:", long.MaxValue, Timeout.InfiniteTimeSpan, later.Token);

        Assert.Equal(MachineStopKind.Cancelled, before.Stop!.Kind);
        Assert.False(before.Found);
        Assert.Equal(MachineStopKind.Cancelled, during.Stop!.Kind);
        Assert.False(during.Found);
    }

    [Fact]
    public async Task AGuestThatHaltsBeforeThePatternEndsTheWait()
    {
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image("booting...\n", HarnessGuests.Tail.Halt));

        SerialWaitResult result = await machine.WaitForSerialAsync("READY", long.MaxValue, s_generousTimeout);

        Assert.False(result.Found);
        Assert.Equal(MachineStopKind.HaltedForGood, result.Stop!.Kind);
        Assert.True(result.InstructionsSpent > 0);
    }

    [Fact]
    public async Task AGuestThatExitsBeforeThePatternReportsItsExitCode()
    {
        byte[] image = HarnessGuests.Image("booting...\n", HarnessGuests.Tail.Exit);
        image[HarnessGuests.ExitValueOffset] = 3;
        using Machine machine = HarnessGuests.Build(image);

        SerialWaitResult result = await machine.WaitForSerialAsync("READY", long.MaxValue, s_generousTimeout);

        Assert.False(result.Found);
        Assert.Equal(MachineStopKind.DebugExit, result.Stop!.Kind);
        Assert.Equal((3 << 1) | 1, result.Stop.ExitCode);
    }

    [Fact]
    public void TheLastSerialOptionForAPortWinsAndEachMachineGetsItsOwnCapture()
    {
        using Machine replaced = new MachineBuilder().WithMemorySize(16UL << 20).WithSerialCapture(0).WithSerialPort(0, new Virt.Devices.NullSerialBackend()).Build();
        MachineBuilder builder = new MachineBuilder().WithMemorySize(16UL << 20).WithSerialPort(1, new Virt.Devices.NullSerialBackend()).WithSerialCapture(1, 4096);
        using Machine first = builder.Build();
        using Machine second = builder.Build();

        Assert.Throws<InvalidOperationException>(() => replaced.GetSerialCapture(0));
        Assert.Equal(4096, first.GetSerialCapture(1).CapacityInBytes);
        Assert.NotSame(first.GetSerialCapture(1), second.GetSerialCapture(1));
    }

    [Fact]
    public async Task MisuseThrowsEarly()
    {
        using Machine noCapture = new MachineBuilder().WithMemorySize(16UL << 20).Build();
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image(BootText, HarnessGuests.Tail.Loop));

        await Assert.ThrowsAsync<InvalidOperationException>(() => noCapture.WaitForSerialAsync("x", 1, s_generousTimeout));
        Assert.Throws<InvalidOperationException>(() => machine.GetSerialCapture(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => machine.GetSerialCapture(4));
        await Assert.ThrowsAsync<ArgumentException>(() => machine.WaitForSerialAsync(string.Empty, 1, s_generousTimeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => machine.WaitForSerialAsync("x", 0, s_generousTimeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => machine.WaitForSerialAsync("x", 1, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MachineBuilder().WithSerialCapture(0, SerialCapture.MinimumCapacityInBytes - 1));
    }
}
