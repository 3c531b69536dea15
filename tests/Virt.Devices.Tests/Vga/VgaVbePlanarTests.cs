using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Vga;

/// <summary>
/// The Bochs VBE 4-bpp planar mode and the video memory shared by the VGA planes and the linear framebuffer, as in
/// QEMU's std VGA: the planes are the first 256 KiB of the video memory, byte 4n + p being byte n of plane p.
/// </summary>
public sealed class VgaVbePlanarTests
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

    private void WriteLfb(int offset, byte value) => _bench.Vga.LinearFramebuffer.Write(new RegionOffset((ulong)offset), 1, value);

    private byte ReadLfb(int offset) => (byte)_bench.Vga.LinearFramebuffer.Read(new RegionOffset((ulong)offset), 1);

    [Fact]
    public void Planes_AreTheFirst256KOfTheLinearFramebuffer_Interleaved()
    {
        _bench.Vga.WritePlane(2, 0x1234, 0x5A);
        Assert.Equal(0x5A, ReadLfb((0x1234 * 4) + 2));
        Assert.Equal(0x5A, _bench.Vga.ReadVideoMemory((0x1234 * 4) + 2));
        WriteLfb((0xFFFF * 4) + 3, 0xC3);
        Assert.Equal(0xC3, _bench.Vga.ReadPlane(3, 0xFFFF));
        WriteLfb(VgaAdapter.PlanarAliasSizeInBytes, 0x77); // past the planes: VBE memory only
        Assert.Equal(0x77, ReadLfb(VgaAdapter.PlanarAliasSizeInBytes));
        for (int plane = 0; plane < 4; plane++)
        {
            Assert.Equal(0, _bench.Vga.ReadPlane(plane, 0));
        }
    }

    [Fact]
    public void Mode13hThroughTheCpuWindow_AndThe8BppBankWindow_ShareMemory()
    {
        // An 8-bpp VBE mode writes byte 4n + p through the bank window: plane p, byte n.
        SetMode(320, 200, 8, VgaAdapter.VbeEnabled);
        _bench.Poke(0xA0000 + 9, 0x21);
        Assert.Equal(0x21, _bench.Vga.ReadPlane(1, 2));
        Assert.Equal(0x21, ReadLfb(9));

        // Back to VGA: the planes keep what the VBE mode wrote (NOCLEARMEM is not needed to disable).
        _bench.Vbe(VgaAdapter.VbeIndexEnable, 0);
        Assert.Equal(0x21, _bench.Vga.ReadPlane(1, 2));
    }

    [Fact]
    public void EnablingClearsThePlanesToo_UnlessNoClearMem()
    {
        _bench.Vga.WritePlane(0, 10, 0x99);
        SetMode(64, 64, 8, VgaAdapter.VbeEnabled | VgaAdapter.VbeNoClearMemory);
        Assert.Equal(0x99, ReadLfb(40));
        SetMode(64, 64, 8, VgaAdapter.VbeEnabled);
        Assert.Equal(0, _bench.Vga.ReadPlane(0, 10));
    }

    [Fact]
    public void FourBpp_RendersThePlanesThroughTheAttributePalette()
    {
        SetMode(800, 600, 4, VgaAdapter.VbeEnabled);
        Assert.True(_bench.Vga.VbeModeEnabled);
        Assert.Equal(VgaDisplayMode.Vbe, _bench.Vga.DisplayMode);

        // The A0000h window reaches the planes through the graphics controller: map mask 0101b, colour 5 in pixel 0.
        _bench.Sequencer(0x04, 0x06); // sequential (odd/even off), as the VGA BIOS's planar modes set it
        _bench.Sequencer(0x02, 0x05);
        _bench.Poke(0xA0000 + (100 * 100) + 2, 0x80); // line 100, pixel 16
        _bench.Sequencer(0x02, 0x0F);
        WriteLfb((((599 * 100) + 99) * 4) + 0, 0x01); // plane 0, last byte: pixel (799, 599) colour 1 ...
        WriteLfb((((599 * 100) + 99) * 4) + 3, 0x01); // ... plus plane 3: colour 9

        VgaFrame frame = _bench.Vga.Render();
        Assert.Equal((800, 600), (frame.Width, frame.Height));
        Assert.Equal(0xAA00AA, frame.GetPixelRgb(16, 100)); // attribute 5 -> EGA magenta
        Assert.Equal(0x5555FF, frame.GetPixelRgb(799, 599)); // attribute 9 -> DAC 39h: bright blue
        Assert.Equal(0x000000, frame.GetPixelRgb(17, 100));

        // X and Y offsets pan to the dot.
        _bench.Vbe(VgaAdapter.VbeIndexXOffset, 3);
        _bench.Vbe(VgaAdapter.VbeIndexYOffset, 50);
        Assert.Equal(0xAA00AA, _bench.Vga.Render().GetPixelRgb(13, 50));

        // A PNG of the mode decodes to the same pixels.
        using var png = new MemoryStream();
        _bench.Vga.SavePng(png);
        (int width, int height, byte[] rgb) = VgaAdapterTests.DecodePng(png.ToArray());
        Assert.Equal((800, 600), (width, height));
        int i = ((50 * width) + 13) * 3;
        Assert.Equal((0xAA, 0x00, 0xAA), (rgb[i], rgb[i + 1], rgb[i + 2]));
    }

    [Fact]
    public void FourBpp_ModesLargerThanAPlaneOrNotAMultipleOf8AreRefused()
    {
        SetMode(1024, 768, 4, VgaAdapter.VbeEnabled); // 96 KiB a plane
        Assert.False(_bench.Vga.VbeModeEnabled);
        SetMode(636, 480, 4, VgaAdapter.VbeEnabled);
        Assert.False(_bench.Vga.VbeModeEnabled);
        SetMode(640, 480, 4, VgaAdapter.VbeEnabled);
        Assert.True(_bench.Vga.VbeModeEnabled);
        Assert.Equal(PlaneLines(640), _bench.VbeRead(VgaAdapter.VbeIndexVirtualHeight));
    }

    private static int PlaneLines(int width) => VgaAdapter.PlaneSizeInBytes / (width / 8);
}
