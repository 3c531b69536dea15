using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Boot;

public sealed class FirmwareImageTests
{
    private static byte[] Rom(int size)
    {
        byte[] image = TestImages.Pattern(size, 3);
        // A far jump at the reset vector (image end - 16), as firmware has.
        image[size - 16] = 0xEA;
        return image;
    }

    [Theory]
    [InlineData(64 * 1024)]
    [InlineData(128 * 1024)]
    [InlineData(192 * 1024)]
    [InlineData(256 * 1024)]
    [InlineData(2 * 1024 * 1024)]
    public void ImageIsMappedAtTheTopOf4GiBAndItsEndBelow1MiB(int size)
    {
        byte[] image = Rom(size);
        FirmwareImage firmware = FirmwareImage.Load(new MemoryStream(image), "bios.bin");
        PhysicalMemoryMap map = firmware.AddTo(new PhysicalMemoryMapBuilder().AddRam("ram", new PhysicalAddress(0), 0xA_0000)).Build();

        int alias = Math.Min(size, 128 * 1024);
        Assert.Equal(0x1_0000_0000UL - (ulong)size, firmware.HighRange.Start.Value);
        Assert.Equal(0xFFFF_FFFFUL, firmware.HighRange.LastAddress.Value);
        Assert.Equal(0x10_0000UL - (ulong)alias, firmware.LowAliasRange.Start.Value);
        Assert.Equal(0xF_FFFFUL, firmware.LowAliasRange.LastAddress.Value);

        // The reset vector FFFFFFF0h and its real-mode view F000:FFF0 = FFFF0h show the image's last 16 bytes.
        Assert.Equal(0xEA, map.ReadByte(new PhysicalAddress(0xFFFF_FFF0)));
        Assert.Equal(0xEA, map.ReadByte(new PhysicalAddress(0xF_FFF0)));
        Assert.Equal(image[0], map.ReadByte(firmware.HighRange.Start));
        Assert.Equal(image[size - alias], map.ReadByte(firmware.LowAliasRange.Start));
        Assert.Equal(image[size - alias + 0x1234], map.ReadByte(new PhysicalAddress(firmware.LowAliasRange.Start.Value + 0x1234)));
    }

    [Fact]
    public void BothViewsAreReadOnly()
    {
        FirmwareImage firmware = FirmwareImage.FromBytes(Rom(128 * 1024), "bios.bin");
        PhysicalMemoryMap map = firmware.AddTo(new PhysicalMemoryMapBuilder()).Build();
        map.WriteByte(new PhysicalAddress(0xFFFF_FFF0), 0x90);
        map.WriteByte(new PhysicalAddress(0xF_FFF1), 0x90);
        Assert.Equal(0xEA, map.ReadByte(new PhysicalAddress(0xF_FFF0)));
        Assert.Equal(Rom(128 * 1024)[^15], map.ReadByte(new PhysicalAddress(0xFFFF_FFF1)));
    }

    [Fact]
    public void RegionsAreNamedAsInQemu()
    {
        PhysicalMemoryMap map = FirmwareImage.FromBytes(Rom(256 * 1024), "bios.bin").AddTo(new PhysicalMemoryMapBuilder()).Build();
        Assert.Contains(map.Regions, r => r.Name == "pc.bios");
        Assert.Contains(map.Regions, r => r.Name == "isa-bios");
    }

    [Fact]
    public void EntryIsTheResetVector()
    {
        BootEntryState entry = FirmwareImage.FromBytes(Rom(64 * 1024), "bios.bin").Entry;
        Assert.Equal(BootCpuMode.RealMode, entry.Mode);
        Assert.Equal((ushort)0xF000, entry.Cs);
        Assert.Equal(0xFFF0u, entry.Eip);
        Assert.Contains("bios.bin", entry.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3 * 1024 * 1024)]
    [InlineData(1000)]
    [InlineData(0)]
    [InlineData(96 * 1024)]
    [InlineData((2 * 1024 * 1024) + (64 * 1024))]
    public void BadSizesAreRejectedNamingTheFile(int size)
    {
        BootImageException e = Assert.Throws<BootImageException>(() => FirmwareImage.Load(new MemoryStream(new byte[size]), "bios.bin"));
        Assert.StartsWith($"bios.bin: firmware image size: {size} bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("multiple of 64 KiB between 64 KiB and 2 MiB", e.Message, StringComparison.Ordinal);
    }
}
