using Virt.Devices;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Board;

public sealed class IsaBusPortDeviceTests
{
    [Fact]
    public void EachAccessTakesOneBusCycleAndWhatBecameDueRunsBeforeTheDeviceSeesIt()
    {
        var clock = new VirtualClock();
        var log = new List<string>();
        var device = new RecordingDevice(clock, log);
        var isa = new IsaBusPortDevice(device, clock);
        clock.CreateTimer("edge", () => log.Add($"edge at {clock.NowNanoseconds}")).ScheduleAt(IsaBusPortDevice.AccessNanoseconds / 2);

        Assert.Equal(0x5Au, isa.Read(2, 1));
        isa.Write(3, 1, 0xB0);

        Assert.Equal(
            [$"edge at {IsaBusPortDevice.AccessNanoseconds}", $"read 2 at {IsaBusPortDevice.AccessNanoseconds}", $"write 3 = B0 at {2 * IsaBusPortDevice.AccessNanoseconds}"],
            log);
        Assert.Equal(device.SupportedWidths, isa.SupportedWidths);
    }

    [Fact]
    public void TheBoardPutsThePitPortBAndThePostPortOnTheIsaBusAndNothingElse()
    {
        using Machine machine = new MachineBuilder().Build();
        foreach (ushort port in new ushort[] { 0x40, 0x42, 0x43, 0x61, 0x80 })
        {
            long before = machine.Clock.NowNanoseconds;
            machine.Ports.Read(port, 1);
            Assert.Equal(IsaBusPortDevice.AccessNanoseconds, machine.Clock.NowNanoseconds - before);
        }

        foreach (ushort port in new ushort[] { 0x20, 0x21, 0x70, 0x71, 0x64, 0x3F8 + 5 })
        {
            long before = machine.Clock.NowNanoseconds;
            machine.Ports.Read(port, 1);
            Assert.Equal(0, machine.Clock.NowNanoseconds - before);
        }
    }

    private sealed class RecordingDevice(VirtualClock clock, List<string> log) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte | AccessWidths.Word;

        public uint Read(ushort offset, int sizeInBytes)
        {
            log.Add($"read {offset} at {clock.NowNanoseconds}");
            return 0x5A;
        }

        public void Write(ushort offset, int sizeInBytes, uint value) => log.Add($"write {offset} = {value:X2} at {clock.NowNanoseconds}");
    }
}
