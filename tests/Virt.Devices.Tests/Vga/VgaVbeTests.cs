using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Vga;

/// <summary>The Bochs VBE (DISPI) registers, the linear framebuffer and the bank window, after Bochs' vbe_display_api.txt.</summary>
public sealed class VgaVbeTests
{
    private readonly VgaTestBench _bench = new();

    private void SetMode(ushort xres, ushort yres, ushort bpp, ushort enable)
    {
        _bench.Vbe(VgaAdapter.VbeIndexEnable, 0);
        _bench.Vbe(VgaAdapter.VbeIndexXResolution, xres);
        _bench.Vbe(VgaAdapter.VbeIndexYResolution, yres);
        _bench.Vbe(VgaAdapter.VbeIndexBpp, bpp);
        _bench.Vbe(VgaAdapter.VbeIndexEnable, enable);
    }

    private void WriteLfb(int offset, int size, ulong value) => _bench.Vga.LinearFramebuffer.Write(new RegionOffset((ulong)offset), size, value);

    [Fact]
    public void Id_ReadsTheLatestAndAcceptsOlderIds()
    {
        Assert.Equal(0xB0C5, _bench.VbeRead(VgaAdapter.VbeIndexId));
        _bench.Vbe(VgaAdapter.VbeIndexId, 0xB0C2);
        Assert.Equal(0xB0C2, _bench.VbeRead(VgaAdapter.VbeIndexId));
        _bench.Vbe(VgaAdapter.VbeIndexId, 0xB0C9); // not an ID we know: ignored
        Assert.Equal(0xB0C2, _bench.VbeRead(VgaAdapter.VbeIndexId));
    }

    [Fact]
    public void GetCaps_ReadsTheMaxima_AndVideoMemoryIsIn64KUnits()
    {
        _bench.Vbe(VgaAdapter.VbeIndexEnable, VgaAdapter.VbeGetCapabilities);
        Assert.Equal(VgaAdapter.VbeMaxXResolution, _bench.VbeRead(VgaAdapter.VbeIndexXResolution));
        Assert.Equal(VgaAdapter.VbeMaxYResolution, _bench.VbeRead(VgaAdapter.VbeIndexYResolution));
        Assert.Equal(VgaAdapter.VbeMaxBpp, _bench.VbeRead(VgaAdapter.VbeIndexBpp));
        Assert.Equal(256, _bench.VbeRead(VgaAdapter.VbeIndexVideoMemory64K)); // 16 MiB / 64 KiB
    }

    [Fact]
    public void Mode800x600x32_RendersTheLinearFramebuffer()
    {
        SetMode(800, 600, 32, VgaAdapter.VbeEnabled | VgaAdapter.VbeLinearFramebuffer);
        WriteLfb(((599 * 800) + 799) * 4, 4, 0x00123456); // blue 56h, green 34h, red 12h in memory order
        WriteLfb(((10 * 800) + 20) * 4, 4, 0x00FF0000);
        VgaFrame frame = _bench.Vga.Render();
        Assert.Equal(VgaDisplayMode.Vbe, _bench.Vga.DisplayMode);
        Assert.Equal((800, 600), (frame.Width, frame.Height));
        Assert.Equal(0x123456, frame.GetPixelRgb(799, 599));
        Assert.Equal(0xFF0000, frame.GetPixelRgb(20, 10));
        Assert.Equal(0x000000, frame.GetPixelRgb(21, 10));
        Assert.Equal(600, _bench.VbeRead(VgaAdapter.VbeIndexYResolution));
        Assert.Equal(800, _bench.VbeRead(VgaAdapter.VbeIndexVirtualWidth));
        Assert.Equal((16 << 20) / (800 * 4), _bench.VbeRead(VgaAdapter.VbeIndexVirtualHeight));
    }

    [Theory]
    [InlineData(16, 0xF800, 0xFF0000)] // 5-6-5: red all ones
    [InlineData(16, 0x07E0, 0x00FF00)]
    [InlineData(15, 0x7C00, 0xFF0000)] // 5-5-5
    [InlineData(15, 0x001F, 0x0000FF)]
    [InlineData(24, 0x102030, 0x102030)] // blue 30h, green 20h, red 10h
    public void HighColourModes_DecodeTheirPixels(int bpp, int pixel, int expected)
    {
        SetMode(64, 32, (ushort)bpp, VgaAdapter.VbeEnabled | VgaAdapter.VbeLinearFramebuffer);
        int bytes = (bpp + 7) / 8;
        WriteLfb(((3 * 64) + 5) * bytes, bytes == 3 ? 2 : bytes, (ulong)pixel);
        if (bytes == 3)
        {
            WriteLfb((((3 * 64) + 5) * 3) + 2, 1, (ulong)(pixel >> 16));
        }

        Assert.Equal(expected, _bench.Vga.Render().GetPixelRgb(5, 3));
    }

    [Fact]
    public void EightBitMode_UsesTheDac_WithEightBitComponentsWhenAsked()
    {
        SetMode(32, 16, 8, VgaAdapter.VbeEnabled | VgaAdapter.VbeEightBitDac);
        _bench.Dac(7, 0x80, 0x40, 0xFF);
        WriteLfb(0, 1, 7);
        Assert.Equal(0x8040FF, _bench.Vga.Render().GetPixelRgb(0, 0));
    }

    [Fact]
    public void BankWindow_ShowsA64KSliceAtA0000()
    {
        SetMode(640, 480, 32, VgaAdapter.VbeEnabled);
        _bench.Vbe(VgaAdapter.VbeIndexBank, 3);
        _bench.Poke(0xA0010, 0x5A);
        Assert.Equal(0x5A, _bench.Vga.ReadVideoMemory((3 * 0x10000) + 0x10));
        Assert.Equal(0x5A, _bench.Peek(0xA0010));
        _bench.Vbe(VgaAdapter.VbeIndexBank, 0);
        Assert.Equal(0x00, _bench.Peek(0xA0010));
    }

    [Fact]
    public void Enable_ClearsMemoryUnlessNoClearMem()
    {
        SetMode(64, 64, 8, VgaAdapter.VbeEnabled);
        WriteLfb(100, 1, 0x42);
        SetMode(64, 64, 8, VgaAdapter.VbeEnabled | VgaAdapter.VbeNoClearMemory);
        Assert.Equal(0x42, _bench.Vga.ReadVideoMemory(100));
        SetMode(64, 64, 8, VgaAdapter.VbeEnabled);
        Assert.Equal(0x00, _bench.Vga.ReadVideoMemory(100));
    }

    [Fact]
    public void UnsupportedModes_AreRefused()
    {
        SetMode(640, 480, 12, VgaAdapter.VbeEnabled);
        Assert.False(_bench.Vga.VbeModeEnabled);
        SetMode(4096, 4096, 32, VgaAdapter.VbeEnabled); // 64 MiB does not fit in 16 MiB
        Assert.False(_bench.Vga.VbeModeEnabled);
        Assert.Equal(VgaDisplayMode.Text, _bench.Vga.DisplayMode);
    }

    [Fact]
    public void Offsets_PanTheVisibleArea()
    {
        SetMode(100, 50, 8, VgaAdapter.VbeEnabled);
        _bench.Vbe(VgaAdapter.VbeIndexVirtualWidth, 200);
        _bench.Dac(1, 63, 63, 63);
        WriteLfb((60 * 200) + 150, 1, 1); // (150, 60) in the virtual screen
        _bench.Vbe(VgaAdapter.VbeIndexXOffset, 100);
        _bench.Vbe(VgaAdapter.VbeIndexYOffset, 30);
        Assert.Equal(0xFFFFFF, _bench.Vga.Render().GetPixelRgb(50, 30));
    }

    [Fact]
    public void DisablingReturnsToTheVgaPicture()
    {
        SetMode(64, 64, 8, VgaAdapter.VbeEnabled);
        _bench.Vbe(VgaAdapter.VbeIndexEnable, 0);
        Assert.False(_bench.Vga.VbeModeEnabled);
        Assert.NotEqual(VgaDisplayMode.Vbe, _bench.Vga.DisplayMode);
    }
}
