namespace Virt.Fuzz.Tests;

public sealed class GuestRunnerTests
{
    [Theory]
    [InlineData(FuzzLevel.Cpu, FuzzMode.RealMode)]
    [InlineData(FuzzLevel.Cpu, FuzzMode.Ring3)]
    [InlineData(FuzzLevel.Machine, FuzzMode.Protected32)]
    public void The_same_case_twice_ends_in_the_same_state(FuzzLevel level, FuzzMode mode)
    {
        FuzzCase guest = FuzzCase.Generate(11, mode, FuzzGenerator.DecodableInstructions, level, 20_000);

        GuestOutcome first = GuestRunner.Run(guest, fingerprint: true);
        GuestOutcome second = GuestRunner.Run(guest, fingerprint: true);

        Assert.Null(first.HostException);
        Assert.NotEqual(0UL, first.Fingerprint);
        Assert.Equal(first.Fingerprint, second.Fingerprint);
        Assert.Equal(first.RetiredInstructions, second.RetiredInstructions);
        Assert.InRange(first.RetiredInstructions, 1, guest.Budget);
    }

    [Fact]
    public void Different_code_ends_in_a_different_state()
    {
        GuestOutcome a = GuestRunner.Run(FuzzCase.Generate(11, FuzzMode.Protected32, FuzzGenerator.RandomBytes, FuzzLevel.Cpu, 20_000), fingerprint: true);
        GuestOutcome b = GuestRunner.Run(FuzzCase.Generate(12, FuzzMode.Protected32, FuzzGenerator.RandomBytes, FuzzLevel.Cpu, 20_000), fingerprint: true);

        Assert.NotEqual(a.Fingerprint, b.Fingerprint);
    }

    [Theory]
    [InlineData(FuzzLevel.Cpu, "StopRequested")]
    [InlineData(FuzzLevel.Machine, "watchdog")]
    public void A_stop_request_from_the_watchdog_ends_a_run_that_would_not_end(FuzzLevel level, string expected)
    {
        // jmp $ with a budget no test could wait for: only the stop request ends it.
        FuzzCase guest = new(1, FuzzMode.Protected32, FuzzGenerator.DecodableInstructions, level, long.MaxValue / 2, [0xEB, 0xFE]);
        var control = new GuestControl();
        using var watchdog = new Timer(_ => control.RequestStop(), null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(100));

        GuestOutcome outcome = GuestRunner.Run(guest, control);

        Assert.Equal(expected, outcome.Stop);
        Assert.True(control.StopRequested);
        Assert.Null(outcome.HostException);
    }

    [Fact]
    public void A_stop_requested_before_the_machine_runs_is_not_lost()
    {
        FuzzCase guest = new(1, FuzzMode.Protected32, FuzzGenerator.DecodableInstructions, FuzzLevel.Machine, long.MaxValue / 2, [0xEB, 0xFE]);
        var control = new GuestControl();
        control.RequestStop();

        GuestOutcome outcome = GuestRunner.Run(guest, control);

        Assert.Equal("watchdog", outcome.Stop);
    }

    [Fact]
    public void A_triple_fault_ends_a_machine_guest_as_a_shutdown()
    {
        // A tiny IDT (the 6018h pseudo-descriptor holds one gate) and a #UD: #UD and #DF miss the IDT, #GP, triple fault.
        byte[] code = [0x0F, 0x01, 0x1D, 0x18, 0x60, 0x00, 0x00, 0x0F, 0x0B]; // lidt [6018h]; ud2
        var guest = new FuzzCase(5, FuzzMode.Protected32, FuzzGenerator.DecodableInstructions, FuzzLevel.Machine, 10_000, code);

        GuestOutcome outcome = GuestRunner.Run(guest);

        Assert.Equal("Shutdown", outcome.Stop);
    }
}
