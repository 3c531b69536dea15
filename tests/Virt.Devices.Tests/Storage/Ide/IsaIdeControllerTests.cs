using System.Text.Json;
using Virt.Devices.Tests.Fakes;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Storage.Ide;

/// <summary>The ISA board's IDE controller: the same drives on the legacy ports, always decoded, PIO only.</summary>
public sealed class IsaIdeControllerTests
{
    [Fact]
    public void ReadsASectorOnTheLegacyPortsWithIrq14()
    {
        var irq14 = new RecordingInterruptLine();
        var irq15 = new RecordingInterruptLine();
        var ide = new IsaIdeController(new Piix3IdeOptions { Drives = [IdeTestRig.Disk(IdeTestRig.NumberedDisk(16))] }, irq14, irq15);
        var ports = new IoPortSpace();
        foreach (PortBinding binding in ide.PortBindings)
        {
            ports.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
        }

        Assert.Equal([(ushort)0x1F0, (ushort)0x3F6, (ushort)0x170, (ushort)0x376], ide.PortBindings.Select(b => b.FirstPort));
        ports.WriteByte(0x1F6, 0xE0);
        ports.WriteByte(0x1F2, 1);
        ports.WriteByte(0x1F3, 6);
        ports.WriteByte(0x1F4, 0);
        ports.WriteByte(0x1F5, 0);
        ports.WriteByte(0x1F7, 0x20);
        Assert.True(irq14.IsAsserted);
        Assert.Equal(0x58, ports.ReadByte(0x1F7));
        Assert.Equal(6u, ports.ReadDoubleWord(0x1F0));

        ports.WriteByte(0x1F7, 0xC8);                        // READ DMA: no bus master on this board; the drive waits
        Assert.Equal(0x58, ports.ReadByte(0x3F6));
        ports.WriteByte(0x3F6, 0x04);
        ports.WriteByte(0x3F6, 0x00);
        Assert.Equal(0x50, ports.ReadByte(0x1F7));

        IsaIdeControllerState state = ide.SaveState();
        ide.RestoreState(JsonSerializer.Deserialize<IsaIdeControllerState>(JsonSerializer.Serialize(state))!);
        Assert.Equal(JsonSerializer.Serialize(state), JsonSerializer.Serialize(ide.SaveState()));
    }
}
