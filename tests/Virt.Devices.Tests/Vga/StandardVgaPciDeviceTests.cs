using FsCheck.Xunit;
using Virt.Devices.Tests.Pci;
using Xunit;

namespace Virt.Devices.Tests.Vga;

/// <summary>QEMU's std VGA as a PCI function: identity, BARs, the MMIO register window and the expansion ROM.</summary>
public sealed class StandardVgaPciDeviceTests
{
    private static readonly byte[] s_rom = [0x55, 0xAA, 0x04, 0xCB, 0x11, 0x22];

    private static (PciTestRig Rig, VgaAdapter Vga, StandardVgaPciDevice Card) Create()
    {
        var vga = new VgaAdapter();
        var card = new StandardVgaPciDevice(vga, s_rom);
        return (new PciTestRig(null, (card, 2, 0)), vga, card);
    }

    [Fact]
    public void Identity_IsQemusStdVga()
    {
        (PciTestRig rig, _, _) = Create();
        Assert.Equal(0x1111_1234u, rig.ReadConfig(2, 0, 0x00, 4));
        Assert.Equal(0x0300_0002u, rig.ReadConfig(2, 0, 0x08, 4)); // class 03 00 00, revision 2
        Assert.Equal(0x1100_1AF4u, rig.ReadConfig(2, 0, 0x2C, 4));
    }

    [Fact]
    public void Bars_SizeAsTheSpecificationSays()
    {
        (PciTestRig rig, _, _) = Create();
        rig.WriteConfig(2, 0, 0x10, 4, 0xFFFF_FFFF);
        Assert.Equal(0xFF00_0008u, rig.ReadConfig(2, 0, 0x10, 4)); // 16 MiB, 32-bit, prefetchable
        rig.WriteConfig(2, 0, 0x18, 4, 0xFFFF_FFFF);
        Assert.Equal(0xFFFF_F000u, rig.ReadConfig(2, 0, 0x18, 4)); // 4 KiB MMIO
        rig.WriteConfig(2, 0, 0x30, 4, 0xFFFF_F800);
        Assert.Equal(0xFFFF_F800u, rig.ReadConfig(2, 0, 0x30, 4)); // a 6-byte ROM takes the 2 KiB minimum
    }

    [Fact]
    public void Lfb_MmioWindowAndRom_AreReachedWhereTheGuestPutsThem()
    {
        (PciTestRig rig, VgaAdapter vga, _) = Create();
        rig.WriteConfig(2, 0, 0x10, 4, 0xE000_0000);
        rig.WriteConfig(2, 0, 0x18, 4, 0xE100_0000);
        rig.WriteConfig(2, 0, 0x30, 4, 0xE101_0001);
        rig.WriteConfig(2, 0, 0x04, 2, 0x0002); // memory space

        // DISPI through BAR2 (register n at 500h + 2n): 64x32x32, enabled.
        rig.Memory.WriteWord(new Memory.PhysicalAddress(0xE100_0502), 64);
        rig.Memory.WriteWord(new Memory.PhysicalAddress(0xE100_0504), 32);
        rig.Memory.WriteWord(new Memory.PhysicalAddress(0xE100_0506), 32);
        rig.Memory.WriteWord(new Memory.PhysicalAddress(0xE100_0508), VgaAdapter.VbeEnabled | VgaAdapter.VbeLinearFramebuffer);
        Assert.Equal(0xB0C5, rig.Memory.ReadWord(new Memory.PhysicalAddress(0xE100_0500)));
        Assert.True(vga.VbeModeEnabled);

        rig.Memory.WriteDoubleWord(new Memory.PhysicalAddress(0xE000_0000 + (((2 * 64) + 3) * 4)), 0x00AABBCC);
        Assert.Equal(0xAABBCC, vga.Render().GetPixelRgb(3, 2));

        // VGA ports through BAR2 (3C0h + n at 400h + n): the DAC write index.
        rig.Memory.WriteByte(new Memory.PhysicalAddress(0xE100_0408), 0x21);
        Assert.Equal(0x21, rig.Memory.ReadByte(new Memory.PhysicalAddress(0xE100_0408)));

        // QEMU's extended registers: the block size and the little-endian framebuffer marker.
        Assert.Equal(8u, rig.Memory.ReadDoubleWord(new Memory.PhysicalAddress(0xE100_0600)));
        Assert.Equal(0x1E1E1E1Eu, rig.Memory.ReadDoubleWord(new Memory.PhysicalAddress(0xE100_0604)));

        // The option ROM.
        Assert.Equal(0xAA55, rig.Memory.ReadWord(new Memory.PhysicalAddress(0xE101_0000)));
        Assert.Equal(0x22, rig.Memory.ReadByte(new Memory.PhysicalAddress(0xE101_0005)));
    }

    [Property(MaxTest = 20)]
    public void State_RoundTrips(uint lfb, uint mmio, ushort command)
    {
        (PciTestRig rig, _, StandardVgaPciDevice card) = Create();
        rig.WriteConfig(2, 0, 0x10, 4, lfb);
        rig.WriteConfig(2, 0, 0x18, 4, mmio);
        rig.WriteConfig(2, 0, 0x04, 2, command);
        StandardVgaPciState saved = card.SaveState();
        (_, _, StandardVgaPciDevice other) = Create();
        other.RestoreState(saved);
        Assert.Equal(saved, other.SaveState());
    }
}
