using Xunit;

namespace Virt.Devices.Tests.Vga;

/// <summary>
/// The CPU's path into planar memory against the FreeVGA register reference ("Graphics Registers": Set/Reset, Enable
/// Set/Reset, Color Compare, Data Rotate, Read Map Select, Graphics Mode, Miscellaneous Graphics, Color Don't Care,
/// Bit Mask; "Sequencer Registers": Map Mask, Memory Mode). Each expected value is worked out in the comment beside it.
/// </summary>
public sealed class VgaMemoryTests
{
    private const uint A0000 = 0xA0000;
    private readonly VgaTestBench _bench = new();

    public VgaMemoryTests()
    {
        // Planar graphics addressing: sequential (odd/even off, no chain-4), A0000h-AFFFFh graphics map.
        _bench.Sequencer(0x02, 0x0F);
        _bench.Sequencer(0x04, 0x06);
        _bench.Graphics(0x05, 0x00);
        _bench.Graphics(0x06, 0x05);
    }

    private void FillPlanes(int address, byte p0, byte p1, byte p2, byte p3)
    {
        _bench.Vga.WritePlane(0, address, p0);
        _bench.Vga.WritePlane(1, address, p1);
        _bench.Vga.WritePlane(2, address, p2);
        _bench.Vga.WritePlane(3, address, p3);
    }

    private (byte, byte, byte, byte) Planes(int address) =>
        (_bench.Vga.ReadPlane(0, address), _bench.Vga.ReadPlane(1, address), _bench.Vga.ReadPlane(2, address), _bench.Vga.ReadPlane(3, address));

    [Fact]
    public void WriteMode0_SetResetReplacesTheByteOnEnabledPlanes()
    {
        _bench.Graphics(0x01, 0x05); // enable set/reset on planes 0 and 2
        _bench.Graphics(0x00, 0x04); // set/reset: plane 2 ones, plane 0 zeros
        _bench.Poke(A0000 + 3, 0x3C);

        // Planes 1 and 3 take the CPU byte; plane 0 gets 00h and plane 2 FFh from set/reset.
        Assert.Equal(((byte)0x00, (byte)0x3C, (byte)0xFF, (byte)0x3C), Planes(3));
    }

    [Fact]
    public void WriteMode0_MapMaskSelectsPlanes()
    {
        _bench.Sequencer(0x02, 0x06);
        _bench.Poke(A0000, 0x5A);
        Assert.Equal(((byte)0x00, (byte)0x5A, (byte)0x5A, (byte)0x00), Planes(0));
    }

    [Fact]
    public void WriteMode0_RotatesRight()
    {
        _bench.Graphics(0x03, 0x02); // rotate by 2, function "replace"
        _bench.Poke(A0000, 0x81);    // 1000_0001 rotated right by 2 = 0110_0000
        Assert.Equal(((byte)0x60, (byte)0x60, (byte)0x60, (byte)0x60), Planes(0));
    }

    [Theory]
    [InlineData(0x08, 0x30)] // AND: F0h & 3Ch
    [InlineData(0x10, 0xFC)] // OR:  F0h | 3Ch
    [InlineData(0x18, 0xCC)] // XOR: F0h ^ 3Ch
    public void WriteMode0_LogicalFunctionCombinesWithTheLatches(byte rotateRegister, byte expected)
    {
        FillPlanes(7, 0xF0, 0xF0, 0xF0, 0xF0);
        _ = _bench.Peek(A0000 + 7); // loads the latches
        _bench.Graphics(0x03, rotateRegister);
        _bench.Poke(A0000 + 7, 0x3C);
        Assert.Equal((expected, expected, expected, expected), Planes(7));
    }

    [Fact]
    public void BitMask_KeepsLatchedBitsWhereClear()
    {
        FillPlanes(9, 0xF0, 0xF0, 0xF0, 0xF0);
        _ = _bench.Peek(A0000 + 9);
        _bench.Graphics(0x08, 0x0F);
        _bench.Poke(A0000 + 9, 0x05); // (05h & 0Fh) | (F0h & F0h) = F5h
        Assert.Equal(((byte)0xF5, (byte)0xF5, (byte)0xF5, (byte)0xF5), Planes(9));
    }

    [Fact]
    public void WriteMode1_CopiesTheLatches()
    {
        FillPlanes(0, 0x11, 0x22, 0x33, 0x44);
        _ = _bench.Peek(A0000);
        _bench.Graphics(0x05, 0x01);
        _bench.Poke(A0000 + 1, 0xEE); // the CPU byte does not matter
        Assert.Equal(((byte)0x11, (byte)0x22, (byte)0x33, (byte)0x44), Planes(1));
    }

    [Fact]
    public void WriteMode2_SpreadsTheColourOverThePlanesThroughTheBitMask()
    {
        _ = _bench.Peek(A0000 + 2); // latches 0
        _bench.Graphics(0x05, 0x02);
        _bench.Graphics(0x08, 0xC0);
        _bench.Poke(A0000 + 2, 0x0A); // colour 1010b: planes 1 and 3 all ones, masked to C0h
        Assert.Equal(((byte)0x00, (byte)0xC0, (byte)0x00, (byte)0xC0), Planes(2));
    }

    [Fact]
    public void WriteMode3_UsesSetResetThroughTheRotatedByteAndTheBitMask()
    {
        FillPlanes(4, 0x81, 0x81, 0x81, 0x81);
        _ = _bench.Peek(A0000 + 4);
        _bench.Graphics(0x05, 0x03);
        _bench.Graphics(0x00, 0x0C); // set/reset: planes 2 and 3
        _bench.Poke(A0000 + 4, 0x18); // effective mask FFh & 18h

        // Planes 0 and 1: 00h in the mask bits, latch elsewhere: 81h. Planes 2 and 3: 18h | 81h = 99h.
        Assert.Equal(((byte)0x81, (byte)0x81, (byte)0x99, (byte)0x99), Planes(4));
    }

    [Fact]
    public void ReadMode0_ReturnsTheSelectedPlane()
    {
        FillPlanes(5, 0x10, 0x20, 0x30, 0x40);
        _bench.Graphics(0x04, 0x02);
        Assert.Equal(0x30, _bench.Peek(A0000 + 5));
        _bench.Graphics(0x04, 0x03);
        Assert.Equal(0x40, _bench.Peek(A0000 + 5));
    }

    [Fact]
    public void ReadMode1_ComparesColoursOnTheCaredPlanes()
    {
        FillPlanes(6, 0xF0, 0xCC, 0xAA, 0xFF);
        _bench.Graphics(0x05, 0x08);
        _bench.Graphics(0x02, 0x0B); // colour 1011b
        _bench.Graphics(0x07, 0x0F);

        // A bit matches where plane 0 = 1, plane 1 = 1, plane 2 = 0, plane 3 = 1: F0h & CCh & ~AAh & FFh = 40h.
        Assert.Equal(0x40, _bench.Peek(A0000 + 6));
        _bench.Graphics(0x07, 0x01); // only plane 0 counts: F0h
        Assert.Equal(0xF0, _bench.Peek(A0000 + 6));
        _bench.Graphics(0x07, 0x00); // nothing counts: every bit matches
        Assert.Equal(0xFF, _bench.Peek(A0000 + 6));
    }

    [Fact]
    public void Chain4_AddressBitsPickThePlane()
    {
        _bench.SetMode13h();
        _bench.Poke(A0000 + 5, 0x77); // plane 5 & 3 = 1, plane address 5 & ~3 = 4
        Assert.Equal(0x77, _bench.Vga.ReadPlane(1, 4));
        Assert.Equal(0x00, _bench.Vga.ReadPlane(0, 4));
        Assert.Equal(0x77, _bench.Peek(A0000 + 5));
    }

    [Fact]
    public void OddEven_CharactersInPlane0AttributesInPlane1()
    {
        var text = new VgaTestBench(); // mode 03h: odd/even, B8000h map
        text.Poke(0xB8000 + 10, (byte)'Q');
        text.Poke(0xB8000 + 11, 0x1E);
        Assert.Equal((byte)'Q', text.Vga.ReadPlane(0, 10));
        Assert.Equal(0x1E, text.Vga.ReadPlane(1, 10));
        Assert.Equal(0x1E, text.Peek(0xB8000 + 11));
    }

    [Fact]
    public void MemoryMapSelect_DecidesWhichAddressesReachTheVga()
    {
        _bench.Graphics(0x06, 0x05); // A0000h-AFFFFh
        _bench.Poke(0xB8000, 0x12);
        Assert.Equal(0xFF, _bench.Peek(0xB8000)); // not decoded
        Assert.Equal(0x00, _bench.Vga.ReadPlane(0, 0x8000));

        _bench.Graphics(0x06, 0x0D); // B8000h-BFFFFh
        _bench.Poke(0xA0000, 0x34);
        Assert.Equal(0xFF, _bench.Peek(0xA0000));
        _bench.Poke(0xB8001, 0x56);
        Assert.Equal(0x56, _bench.Vga.ReadPlane(0, 1));

        _bench.Graphics(0x06, 0x09); // B0000h-B7FFFh
        _bench.Poke(0xB0002, 0x78);
        Assert.Equal(0x78, _bench.Vga.ReadPlane(0, 2));

        _bench.Graphics(0x06, 0x01); // A0000h-BFFFFh, 128 KiB
        _bench.Poke(0xB0003, 0x9A);  // offset 10003h wraps to plane address 0003h
        Assert.Equal(0x9A, _bench.Vga.ReadPlane(0, 3));
    }
}
