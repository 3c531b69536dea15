using Xunit;

namespace Virt.Run.Tests;

/// <summary>Virt.Run's <c>-d</c>: QEMU-style trace items, logged to standard error at Trace level.</summary>
public sealed class VirtRunTraceTests
{
    [Fact]
    public void TraceShowsInterruptsPortsAndResets()
    {
        (int code, _, string err) = VirtRunExitStatusTests.RunRom(TestRoms.TripleFault(), "-d", "int,ioport,reset", "--timeout", "30");
        Assert.Equal(4, code); // a reset loop
        Assert.Contains("[Trace] Virt.Machine.Trace.PortIo: OUT port 0x0080 width 1 value 0x80", err, StringComparison.Ordinal);
        Assert.Contains($"[Trace] Virt.Machine.Trace.Interrupts: #UD at F000:{TestRoms.TripleFaultUd2Offset:X8} (real)", err, StringComparison.Ordinal);
        Assert.Contains("[Trace] Virt.Machine.Trace.Interrupts: #DF at", err, StringComparison.Ordinal);
        Assert.Contains("[Trace] Virt.Machine.Trace.Resets: Reset 1 (triple fault)", err, StringComparison.Ordinal);
        Assert.Contains("[Trace] Virt.Machine.Trace.Resets: Reset 7 (triple fault)", err, StringComparison.Ordinal);

        // Only what -d asked for is at Trace: the rest stays at the default level.
        Assert.DoesNotContain("[Debug]", err, StringComparison.Ordinal);
    }

    [Fact]
    public void PciTraceShowsConfigurationWrites()
    {
        (int code, _, string err) = VirtRunExitStatusTests.RunRom(TestRoms.AcpiPowerOff(), "-M", "pc", "-d", "pci", "--timeout", "30");
        Assert.Equal(0, code);
        Assert.Contains("[Trace] Virt.Machine.Trace.Pci: pci config write 00:01.3 register 0x40 width 4 value 0x600", err, StringComparison.Ordinal);
        Assert.Contains("[Trace] Virt.Machine.Trace.Pci: pci config write 00:01.3 register 0x80 width 4 value 0x1", err, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutTraceNothingIsTraced()
    {
        (_, _, string err) = VirtRunExitStatusTests.RunRom(TestRoms.TripleFault(), "--timeout", "30");
        Assert.DoesNotContain("[Trace]", err, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownTraceItemExitsTwo()
    {
        (int code, _, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-d", "int,exec");
        Assert.Equal(2, code);
        Assert.Equal("Virt.Run: -d: 'exec' is not a trace item (use int, ioport, reset, cpu_reset, apic, pci, or -d help)", err.Trim());
    }

    [Fact]
    public void TraceHelpListsTheItems()
    {
        (int code, string output, _) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-d", "help");
        Assert.Equal(0, code);
        foreach ((string name, _, _) in Virt.Run.CommandLine.RunOptionsParser.TraceItems)
        {
            Assert.Contains("  " + name + " ", output, StringComparison.Ordinal);
        }
    }
}
