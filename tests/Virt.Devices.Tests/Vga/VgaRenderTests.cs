using Xunit;

namespace Virt.Devices.Tests.Vga;

/// <summary>Rendering of each mode family, pixel by pixel, and PNG capture of a graphics mode.</summary>
public sealed class VgaRenderTests
{
    private readonly VgaTestBench _bench = new();

    [Fact]
    public void Mode13h_PixelsComeFromTheDac()
    {
        _bench.SetMode13h();
        _bench.Dac(1, 63, 0, 0);
        _bench.Dac(2, 0, 63, 0);
        _bench.Dac(3, 0x15, 0x2A, 0x3F); // 6-bit components scale to 8 bits: 15h -> 55h, 2Ah -> AAh, 3Fh -> FFh
        _bench.Poke(0xA0000 + (5 * 320) + 10, 1);
        _bench.Poke(0xA0000 + (199 * 320) + 319, 2);
        _bench.Poke(0xA0000 + 1, 3);

        VgaFrame frame = _bench.Vga.Render();
        Assert.Equal(VgaDisplayMode.Graphics256, _bench.Vga.DisplayMode);
        Assert.Equal((320, 200), (frame.Width, frame.Height));
        Assert.Equal(0xFF0000, frame.GetPixelRgb(10, 5));
        Assert.Equal(0x00FF00, frame.GetPixelRgb(319, 199));
        Assert.Equal(0x55AAFF, frame.GetPixelRgb(1, 0));
        Assert.Equal(0x000000, frame.GetPixelRgb(0, 0)); // DAC entry 0 of the EGA palette: black
        Assert.Equal(0x000000, frame.GetPixelRgb(11, 5));
    }

    [Fact]
    public void Mode13h_PixelMaskAppliesToTheDacIndex()
    {
        _bench.SetMode13h();
        _bench.Dac(0x01, 63, 63, 63);
        _bench.Poke(0xA0000, 0x81);
        _bench.Out(0x3C6, 0x0F); // only the low four bits reach the DAC: 81h -> 01h
        Assert.Equal(0xFFFFFF, _bench.Vga.Render().GetPixelRgb(0, 0));
    }

    [Fact]
    public void Mode12h_PlanarPixelsGoThroughTheAttributePalette()
    {
        _bench.SetMode12h();

        // Write mode 2 at (1, 2): the byte at 2 * 80 + 0, bit 6 (pixel 1 from the left), colour 5.
        _ = _bench.Peek(0xA0000 + 160);
        _bench.Graphics(0x05, 0x02);
        _bench.Graphics(0x08, 0x40);
        _bench.Poke(0xA0000 + 160, 0x05);

        // (639, 479): the last byte, bit 0, colour 15.
        _bench.Graphics(0x08, 0x01);
        _ = _bench.Peek(0xA0000 + (479 * 80) + 79);
        _bench.Poke(0xA0000 + (479 * 80) + 79, 0x0F);

        VgaFrame frame = _bench.Vga.Render();
        Assert.Equal(VgaDisplayMode.Graphics16Planar, _bench.Vga.DisplayMode);
        Assert.Equal((640, 480), (frame.Width, frame.Height));
        Assert.Equal(0xAA00AA, frame.GetPixelRgb(1, 2));   // attribute 5 -> DAC 05h: EGA magenta
        Assert.Equal(0x000000, frame.GetPixelRgb(0, 2));
        Assert.Equal(0x000000, frame.GetPixelRgb(2, 2));
        Assert.Equal(0xFFFFFF, frame.GetPixelRgb(639, 479)); // attribute 15 -> DAC 3Fh: white
        Assert.Equal(0x000000, frame.GetPixelRgb(638, 479));

        // Attribute palette register 5 redirected to DAC 3Ch (bright red in the EGA palette).
        _bench.Attribute(0x05, 0x3C);
        Assert.Equal(0xFF5555, _bench.Vga.Render().GetPixelRgb(1, 2));

        // Colour plane enable without plane 2: colour 5 becomes 1 (blue).
        _bench.Attribute(0x12, 0x0B);
        Assert.Equal(0x0000AA, _bench.Vga.Render().GetPixelRgb(1, 2));
    }

    [Fact]
    public void Mode10hAnd0Dh_ResolutionFromTheCrtc()
    {
        _bench.SetMode12h();
        _bench.Crtc(0x11, 0x0C); // clear the CR11 write protect of 00h-07h (mode 12h sets it)
        _bench.Crtc(0x12, 0x5D); // vertical display end 15Dh = 349
        _bench.Crtc(0x07, 0x1F); // bit 1: VDE bit 8; bit 6 clear
        Assert.Equal((640, 350), Size(_bench.Vga.Render()));

        _bench.Crtc(0x11, 0x0C); // clear the CR11 write protect of 00h-07h (mode 12h sets it)
        _bench.Crtc(0x01, 0x27); // 40 characters: 320 pixels
        _bench.Crtc(0x12, 0x8F); // 400 lines
        _bench.Crtc(0x09, 0xC0); // double scan: 200
        Assert.Equal((320, 200), Size(_bench.Vga.Render()));
    }

    [Fact]
    public void Text_UsesTheGuestFontFromPlane2AndTheCharacterMapSelect()
    {
        // Load a glyph for code 80h into font slot 1 (plane 2, 4000h), the way a BIOS does: plane 2 only, sequential
        // addressing, the A0000h map; then back to text addressing.
        byte[] glyph = [0x81, 0xFF, 0x00, 0xAA, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0xFF];
        _bench.Sequencer(0x02, 0x04);
        _bench.Sequencer(0x04, 0x07);
        _bench.Graphics(0x04, 0x02);
        _bench.Graphics(0x05, 0x00);
        _bench.Graphics(0x06, 0x04);
        for (int i = 0; i < glyph.Length; i++)
        {
            _bench.Poke((uint)(0xA0000 + 0x4000 + (0x80 * 32) + i), glyph[i]);
        }

        _bench.Sequencer(0x02, 0x03);
        _bench.Sequencer(0x04, 0x03);
        _bench.Graphics(0x04, 0x00);
        _bench.Graphics(0x05, 0x10);
        _bench.Graphics(0x06, 0x0E);
        _bench.Crtc(0x0A, 0x20); // cursor off

        _bench.Poke(0xB8000, 0x80);
        _bench.Poke(0xB8001, 0x0F); // white: attribute bit 3 set, map A
        _bench.Poke(0xB8002, 0x80);
        _bench.Poke(0xB8003, 0x07); // light grey: bit 3 clear, map B

        // Character map select 04h: map A = slot 1 (bit 2), map B = slot 0 (the built-in font).
        _bench.Sequencer(0x03, 0x04);
        VgaFrame frame = _bench.Vga.Render();
        Assert.Equal(0xFFFFFF, frame.GetPixelRgb(0, 0)); // glyph row 0 = 81h: leftmost pixel on
        Assert.Equal(0x000000, frame.GetPixelRgb(1, 0));
        Assert.Equal(0xFFFFFF, frame.GetPixelRgb(7, 0)); // rightmost of eight on
        Assert.Equal(0x000000, frame.GetPixelRgb(8, 0)); // ninth column blank for codes outside C0h-DFh
        Assert.Equal(0xFFFFFF, frame.GetPixelRgb(3, 1)); // row 1 = FFh
        Assert.Equal(0xFFFFFF, frame.GetPixelRgb(0, 3)); // row 3 = AAh: 1010_1010
        Assert.Equal(0x000000, frame.GetPixelRgb(1, 3));

        // The second cell uses map B, slot 0: its pixels follow plane 2 at 80h * 32.
        for (int y = 0; y < 16; y++)
        {
            byte bits = _bench.Vga.ReadPlane(2, (0x80 * 32) + y);
            for (int x = 0; x < 8; x++)
            {
                int expected = (bits & (0x80 >> x)) != 0 ? 0xAAAAAA : 0x000000;
                Assert.Equal(expected, frame.GetPixelRgb(9 + x, y));
            }
        }

        // Both maps on slot 1 (select 05h): the second cell shows the custom glyph too.
        _bench.Sequencer(0x03, 0x05);
        Assert.Equal(0xAAAAAA, _bench.Vga.Render().GetPixelRgb(9, 0));
        Assert.Equal(0x000000, _bench.Vga.Render().GetPixelRgb(10, 0));
    }

    [Fact]
    public void Text_EightLineFontsFollowTheCharacterHeight()
    {
        _bench.Crtc(0x09, 0x07);   // 8 scan lines per row: 50 rows of 400 lines
        Assert.Equal(50, _bench.Vga.TextRows);
        Assert.Equal((720, 400), Size(_bench.Vga.Render()));
    }

    [Fact]
    public void Png_OfMode13hRoundTripsExactRows()
    {
        _bench.SetMode13h();
        _bench.Dac(9, 0x3F, 0x20, 0x01);
        for (int x = 0; x < 320; x += 3)
        {
            _bench.Poke((uint)(0xA0000 + (7 * 320) + x), 9);
        }

        VgaFrame frame = _bench.Vga.Render();
        using var png = new MemoryStream();
        _bench.Vga.SavePng(png);
        (int width, int height, byte[] rgb) = VgaAdapterTests.DecodePng(png.ToArray());
        Assert.Equal((320, 200), (width, height));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = ((y * width) + x) * 3;
                Assert.Equal(frame.GetPixelRgb(x, y), (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2]);
            }
        }

        Assert.Equal(0xFF8204, frame.GetPixelRgb(3, 7)); // c * 255 / 63, rounded: 3Fh -> FFh, 20h -> 82h, 01h -> 04h
    }

    private static (int, int) Size(VgaFrame frame) => (frame.Width, frame.Height);
}
