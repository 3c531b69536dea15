using Virt.Devices;
using Xunit;

namespace Virt.Devices.Tests.Interrupts;

public sealed class InterruptLineTests
{
    [Fact]
    public void Shared_input_sees_the_or_of_its_lines()
    {
        var changes = new List<bool>();
        var input = new InterruptInput("IRQ4", changes.Add);
        InterruptLine com1 = input.CreateLine("COM1");
        InterruptLine com3 = input.CreateLine("COM3");

        com1.SetLevel(true);
        com3.SetLevel(true);
        com1.SetLevel(false);
        Assert.True(input.Level);
        com3.SetLevel(false);
        Assert.False(input.Level);
        com3.SetLevel(false);

        Assert.Equal([true, false], changes);
    }

    [Fact]
    public void Pulse_gives_one_rising_edge_and_leaves_the_line_low()
    {
        var changes = new List<bool>();
        var input = new InterruptInput("IRQ0", changes.Add);
        InterruptLine line = input.CreateLine("PIT");
        line.Pulse();
        Assert.Equal([true, false], changes);
        Assert.False(line.IsAsserted);

        line.SetLevel(true);
        changes.Clear();
        line.Pulse();
        Assert.Equal([false, true, false], changes);
    }
}
