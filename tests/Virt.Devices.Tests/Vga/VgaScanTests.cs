using Xunit;

namespace Virt.Devices.Tests.Vga;

/// <summary>
/// The CRTC address generator in the renderer (VgaAdapter.Scan.cs): start address, byte panning, pel panning, the
/// offset register and the line compare split screen, checked against small patterns. Register meanings from FreeVGA
/// ("CRT Controller Registers", "Attribute Controller Registers") and the IBM VGA Technical Reference.
/// </summary>
public sealed class VgaScanTests
{
    private const int White = 0xFFFFFF; // mode 12h attribute 15 -> DAC 3Fh; in mode 13h pixel value 3Fh
    private readonly VgaTestBench _bench = new();

    /// <summary>Mode 12h: plane bytes written directly, one bit a pixel, all four planes set = colour 15 (white).</summary>
    private void PlanarByte(int address, byte bits)
    {
        for (int plane = 0; plane < 4; plane++)
        {
            _bench.Vga.WritePlane(plane, address, bits);
        }
    }

    [Fact]
    public void Mode12h_StartAddressAndBytePanningMoveTheScreenByBytes()
    {
        _bench.SetMode12h();
        PlanarByte((2 * 80) + 3, 0x80); // line 2, pixel 24
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(24, 2));

        // Start address 80 (one line of 80 bytes in byte mode): the pixel moves up a line.
        _bench.Crtc(0x0C, 0x00);
        _bench.Crtc(0x0D, 80);
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(24, 1));

        // Byte panning 2 (CR08 bits 5-6) adds two address units: 16 pixels further left.
        _bench.Crtc(0x08, 2 << 5);
        VgaFrame frame = _bench.Vga.Render();
        Assert.Equal(White, frame.GetPixelRgb(8, 1));
        Assert.Equal(0, frame.GetPixelRgb(24, 1));
    }

    [Fact]
    public void Mode12h_PelPanningShiftsByPixels_AndValuesAbove7DoNothing()
    {
        _bench.SetMode12h();
        PlanarByte(1, 0x80); // pixel 8 of line 0
        _bench.Attribute(0x13, 3);
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(5, 0));
        _bench.Attribute(0x13, 7);
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(1, 0));
        _bench.Attribute(0x13, 9); // undefined in graphics modes: no shift
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(8, 0));
    }

    [Fact]
    public void Mode13h_PelPanningMovesByDotPairs()
    {
        // FreeVGA: in 256-colour mode the values 0, 2, 4, 6 shift by 0, 1, 2, 3 pixels.
        _bench.SetMode13h();
        _bench.Poke(0xA0000 + 5, 0x3F); // DAC entry 3Fh of the EGA palette: white
        _bench.Attribute(0x13, 4);
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(3, 0));
        _bench.Attribute(0x13, 6);
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(2, 0));

        // Byte panning in double-word mode moves by four pixels.
        _bench.Attribute(0x13, 0);
        _bench.Crtc(0x08, 1 << 5);
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(1, 0));
    }

    [Fact]
    public void Text_NineDotPelPanning_8Is0_AndNIsNPlus1()
    {
        // Mode 03h, 9-dot cells: glyph 01h in cell (0, 1) has a full first column (bit 7 of every row).
        for (int y = 0; y < 16; y++)
        {
            _bench.Vga.WritePlane(2, (1 * 32) + y, 0x80);
        }

        _bench.Vga.WritePlane(0, 2, 0x01); // cell 1: code 01h
        _bench.Vga.WritePlane(1, 2, 0x0F); // white on black
        _bench.Vga.WritePlane(1, 0, 0x0F);
        Assert.Equal(White, _bench.Vga.Render(drawCursor: false).GetPixelRgb(9, 0));

        _bench.Attribute(0x13, 8);
        Assert.Equal(White, _bench.Vga.Render(drawCursor: false).GetPixelRgb(9, 0));
        _bench.Attribute(0x13, 0);
        Assert.Equal(White, _bench.Vga.Render(drawCursor: false).GetPixelRgb(8, 0));
        _bench.Attribute(0x13, 7);
        Assert.Equal(White, _bench.Vga.Render(drawCursor: false).GetPixelRgb(1, 0));

        // 8-dot cells (sequencer clocking mode bit 0): cell 1 starts at dot 8, and 3 shifts by 3.
        _bench.Sequencer(0x01, 0x01);
        _bench.Attribute(0x13, 3);
        Assert.Equal(White, _bench.Vga.Render(drawCursor: false).GetPixelRgb(5, 0));
    }

    [Fact]
    public void Mode12h_LineCompareSplitsTheScreen_AndPixelPanningModeStopsPanningBelow()
    {
        _bench.SetMode12h();
        PlanarByte(0, 0x80);                 // address 0: pixel 0 of the bottom part
        PlanarByte(100 * 80, 0x40);          // what the top part shows at line 0 with start address 8000
        _bench.Crtc(0x0C, (100 * 80) >> 8);
        _bench.Crtc(0x0D, (100 * 80) & 0xFF);

        // Line compare 99: CR18 = 99, CR07 bit 4 and CR09 bit 6 (bits 8 and 9) clear. Line 100 shows address 0.
        _bench.Crtc(0x11, 0x0C);
        _bench.Crtc(0x07, (byte)(_bench.Vga.SaveState().Crtc[0x07] & ~0x10));
        _bench.Crtc(0x09, (byte)(_bench.Vga.SaveState().Crtc[0x09] & ~0x40));
        _bench.Crtc(0x18, 99);
        Assert.Equal(99, _bench.Vga.LineCompare);
        VgaFrame frame = _bench.Vga.Render();
        Assert.Equal(White, frame.GetPixelRgb(1, 0));
        Assert.Equal(White, frame.GetPixelRgb(0, 100));
        Assert.Equal(0, frame.GetPixelRgb(0, 99));

        // Pel panning 1 shifts both halves; with the pixel panning mode (attribute 10h bit 5) only the top.
        _bench.Attribute(0x13, 1);
        frame = _bench.Vga.Render();
        Assert.Equal(White, frame.GetPixelRgb(0, 0));
        Assert.Equal(0, frame.GetPixelRgb(0, 100));
        _bench.Attribute(0x10, (byte)(_bench.Vga.SaveState().Attribute[0x10] | 0x20));
        frame = _bench.Vga.Render();
        Assert.Equal(White, frame.GetPixelRgb(0, 0));
        Assert.Equal(White, frame.GetPixelRgb(0, 100));

        // Bits 8 and 9: 99 + 100h + 200h is below no line: no split.
        _bench.Crtc(0x07, (byte)(_bench.Vga.SaveState().Crtc[0x07] | 0x10));
        _bench.Crtc(0x09, (byte)(_bench.Vga.SaveState().Crtc[0x09] | 0x40));
        Assert.Equal(0x363, _bench.Vga.LineCompare);
        Assert.Equal(0, _bench.Vga.Render().GetPixelRgb(0, 100));
    }

    [Fact]
    public void Mode13h_LineCompareCountsScanLines()
    {
        // Mode 13h repeats each line twice (CR09 bits 0-4 = 1): line compare 199 splits after output line 99.
        _bench.SetMode13h();
        _bench.Poke(0xA0000, 0x3F);
        _bench.Crtc(0x0C, 0x10); // start address 1000h: x 4 in double-word mode
        _bench.Crtc(0x07, (byte)(_bench.Vga.SaveState().Crtc[0x07] & ~0x10));
        _bench.Crtc(0x09, (byte)(_bench.Vga.SaveState().Crtc[0x09] & ~0x40));
        _bench.Crtc(0x18, 199);
        VgaFrame frame = _bench.Vga.Render();
        Assert.Equal(White, frame.GetPixelRgb(0, 100));
        Assert.Equal(0, frame.GetPixelRgb(0, 99));
        Assert.Equal(0, frame.GetPixelRgb(0, 0));
    }

    [Fact]
    public void OffsetRegister_CountsTwiceTheAddressUnit()
    {
        // Mode 12h (byte mode): CR13 = 20 gives 40-byte lines, so byte 40 is the start of line 1.
        _bench.SetMode12h();
        PlanarByte(40, 0x80);
        _bench.Crtc(0x13, 20);
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(0, 1));

        // Word mode (CR17 bit 6 clear): the same CR13 steps 80 bytes, and address unit n is plane byte 2n.
        _bench.Crtc(0x17, (byte)(_bench.Vga.SaveState().Crtc[0x17] & ~0x40));
        PlanarByte(80, 0x40);
        Assert.Equal(White, _bench.Vga.Render().GetPixelRgb(1, 1));
    }

    [Fact]
    public void Png_OfAPannedSplitScreenEqualsTheFrame()
    {
        _bench.SetMode12h();
        PlanarByte(0, 0xAA);
        _bench.Crtc(0x11, 0x0C);
        _bench.Crtc(0x07, (byte)(_bench.Vga.SaveState().Crtc[0x07] & ~0x10));
        _bench.Crtc(0x09, (byte)(_bench.Vga.SaveState().Crtc[0x09] & ~0x40));
        _bench.Crtc(0x18, 9);
        _bench.Attribute(0x13, 1);
        VgaFrame frame = _bench.Vga.Render();
        using var png = new MemoryStream();
        frame.SavePng(png);
        (int width, int height, byte[] rgb) = VgaAdapterTests.DecodePng(png.ToArray());
        Assert.Equal((640, 480), (width, height));
        Assert.Equal(0, Rgb(rgb, width, 0, 10)); // bits 10101010 panned by 1: x = 0 shows dot 1 (clear), x = 1 dot 2 (set)
        Assert.Equal(White, Rgb(rgb, width, 1, 10));
        for (int y = 0; y < height; y += 7)
        {
            for (int x = 0; x < width; x += 5)
            {
                Assert.Equal(frame.GetPixelRgb(x, y), Rgb(rgb, width, x, y));
            }
        }
    }

    private static int Rgb(byte[] rgb, int width, int x, int y)
    {
        int i = ((y * width) + x) * 3;
        return (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2];
    }
}
