namespace Virt.Devices;

/// <summary>
/// The CPU's path into video memory (FreeVGA, "Graphics Controller Registers", "Sequencer Registers", and "VGA/SVGA
/// Video Programming: Accessing the Display Memory"): the memory map select, chain-4 and odd/even addressing, the
/// latches, the four write modes with rotate, set/reset, the logical function and the bit mask, the two read modes,
/// and the VBE bank window.
/// </summary>
public sealed partial class VgaAdapter
{
    // Sequencer memory mode (index 04h).
    private const byte SequencerMemoryOddEvenDisable = 0x04;
    private const byte SequencerMemoryChain4 = 0x08;

    // Graphics controller mode (index 05h) and miscellaneous (index 06h).
    private const byte GraphicsModeWriteModeMask = 0x03;
    private const byte GraphicsModeReadMode1 = 0x08;
    private const byte GraphicsModeHostOddEven = 0x10;
    private const byte GraphicsMiscGraphicsMode = 0x01;
    private const int GraphicsMiscMemoryMapShift = 2;

    // Graphics controller indexes.
    private const int GcSetReset = 0x00;
    private const int GcEnableSetReset = 0x01;
    private const int GcColorCompare = 0x02;
    private const int GcDataRotate = 0x03;
    private const int GcReadMapSelect = 0x04;
    private const int GcMode = 0x05;
    private const int GcMiscellaneous = 0x06;
    private const int GcColorDontCare = 0x07;
    private const int GcBitMask = 0x08;
    private const int SeqMapMask = 0x02;
    private const int SeqMemoryMode = 0x04;

    private const int PlaneAddressMask = PlaneSizeInBytes - 1;
    private const uint BankWindowSizeInBytes = 0x10000;

    /// <summary>The four latches, plane 0 in bits 0-7, loaded by every CPU read of planar memory.</summary>
    private uint _latches;

    /// <summary>A byte of planar memory, for tests and hosts (no side effects).</summary>
    /// <param name="plane">0-3.</param>
    /// <param name="address">0-FFFFh.</param>
    /// <returns>The byte.</returns>
    public byte ReadPlane(int plane, int address) => _planes[((plane & 3) * PlaneSizeInBytes) + (address & PlaneAddressMask)];

    /// <summary>Writes a byte of planar memory directly (host side: loading fonts or pictures without going through the registers).</summary>
    /// <param name="plane">0-3.</param>
    /// <param name="address">0-FFFFh.</param>
    /// <param name="value">The byte.</param>
    public void WritePlane(int plane, int address, byte value) => _planes[((plane & 3) * PlaneSizeInBytes) + (address & PlaneAddressMask)] = value;

    /// <summary>
    /// A byte of the video memory as the linear framebuffer shows it, for tests and hosts. The first 256 KiB are the
    /// planes, interleaved: offset 4n + p is byte n of plane p.
    /// </summary>
    /// <param name="offset">The offset, below <see cref="VideoMemorySizeInBytes"/>.</param>
    /// <returns>The byte.</returns>
    public byte ReadVideoMemory(int offset) => ReadVram(offset);

    /// <summary>Reads a byte at an offset of the legacy window (from A0000h).</summary>
    internal byte ReadLegacy(uint offset)
    {
        if (VbeBankWindowActive && offset < BankWindowSizeInBytes)
        {
            return ReadVram((int)((((uint)_vbe[VbeIndexBank] * BankWindowSizeInBytes) + offset) & (uint)(_vram.SizeInBytes - 1)));
        }

        if (!TryMapCpuAddress(offset, out int address))
        {
            return 0xFF; // outside the graphics controller's memory map: open bus
        }

        byte mode = _graphics[GcMode];
        int planeAddress;
        int readPlane;
        byte memoryMode = _sequencer[SeqMemoryMode];
        if ((memoryMode & SequencerMemoryChain4) != 0)
        {
            // Chain-4: address bits 0-1 pick the plane; the plane sees the address with those bits cleared
            // (the CRTC's double-word mode reads the same places).
            readPlane = address & 3;
            planeAddress = address & ~3;
        }
        else if ((mode & GraphicsModeHostOddEven) != 0)
        {
            // Odd/even: address bit 0 picks plane 0 or 1 (2 or 3 with read map select bit 1).
            readPlane = (_graphics[GcReadMapSelect] & 0x02) | (address & 1);
            planeAddress = address & ~1;
        }
        else
        {
            readPlane = _graphics[GcReadMapSelect] & 0x03;
            planeAddress = address;
        }

        planeAddress &= PlaneAddressMask;
        _latches = (uint)(_planes[planeAddress] | (_planes[PlaneSizeInBytes + planeAddress] << 8) |
            (_planes[(2 * PlaneSizeInBytes) + planeAddress] << 16) | (_planes[(3 * PlaneSizeInBytes) + planeAddress] << 24));
        if ((mode & GraphicsModeReadMode1) == 0)
        {
            return (byte)(_latches >> (8 * readPlane));
        }

        // Read mode 1 (colour compare): a bit is 1 where every plane not excluded by colour don't care matches the
        // colour compare register.
        byte compare = _graphics[GcColorCompare];
        byte care = _graphics[GcColorDontCare];
        int result = 0xFF;
        for (int plane = 0; plane < 4; plane++)
        {
            if ((care & (1 << plane)) != 0)
            {
                byte latch = (byte)(_latches >> (8 * plane));
                byte wanted = (compare & (1 << plane)) != 0 ? (byte)0xFF : (byte)0x00;
                result &= ~(latch ^ wanted);
            }
        }

        return (byte)result;
    }

    /// <summary>Writes a byte at an offset of the legacy window (from A0000h).</summary>
    internal void WriteLegacy(uint offset, byte value)
    {
        if (VbeBankWindowActive && offset < BankWindowSizeInBytes)
        {
            WriteVram((int)((((uint)_vbe[VbeIndexBank] * BankWindowSizeInBytes) + offset) & (uint)(_vram.SizeInBytes - 1)), value);
            return;
        }

        if (!TryMapCpuAddress(offset, out int address))
        {
            return;
        }

        int planes = _sequencer[SeqMapMask] & 0x0F;
        byte memoryMode = _sequencer[SeqMemoryMode];
        int planeAddress;
        if ((memoryMode & SequencerMemoryChain4) != 0)
        {
            planes &= 1 << (address & 3);
            planeAddress = address & ~3;
        }
        else if ((memoryMode & SequencerMemoryOddEvenDisable) == 0)
        {
            // Odd/even: even addresses reach planes 0 and 2, odd ones planes 1 and 3.
            planes &= (address & 1) != 0 ? 0b1010 : 0b0101;
            planeAddress = address & ~1;
        }
        else
        {
            planeAddress = address;
        }

        if (planes == 0)
        {
            return;
        }

        uint data = ComputeWriteData(value);
        planeAddress &= PlaneAddressMask;
        for (int plane = 0; plane < 4; plane++)
        {
            if ((planes & (1 << plane)) != 0)
            {
                _planes[(plane * PlaneSizeInBytes) + planeAddress] = (byte)(data >> (8 * plane));
            }
        }
    }

    private static uint Broadcast(byte value) => value * 0x01010101u;

    private static uint ExpandPlaneBits(int bits) =>
        ((bits & 1) != 0 ? 0x000000FFu : 0) | ((bits & 2) != 0 ? 0x0000FF00u : 0) | ((bits & 4) != 0 ? 0x00FF0000u : 0) | ((bits & 8) != 0 ? 0xFF000000u : 0);

    /// <summary>
    /// The four plane bytes a CPU write produces (FreeVGA, "Graphics Controller: Write Modes"): write mode 0 rotates
    /// the byte and substitutes set/reset for the enabled planes, mode 2 spreads the byte's low four bits over the
    /// planes, both pass through the logical function with the latches and the bit mask; mode 1 writes the latches;
    /// mode 3 writes set/reset through the bit mask ANDed with the rotated byte.
    /// </summary>
    private uint ComputeWriteData(byte value)
    {
        byte rotateRegister = _graphics[GcDataRotate];
        int rotate = rotateRegister & 0x07;
        byte rotated = (byte)((value >> rotate) | (value << (8 - rotate)));
        uint bitMask = Broadcast(_graphics[GcBitMask]);
        uint setReset = ExpandPlaneBits(_graphics[GcSetReset]);
        uint data;
        switch (_graphics[GcMode] & GraphicsModeWriteModeMask)
        {
            case 0:
            {
                uint enable = ExpandPlaneBits(_graphics[GcEnableSetReset]);
                data = (Broadcast(rotated) & ~enable) | (setReset & enable);
                break;
            }

            case 1:
                return _latches;
            case 2:
                data = ExpandPlaneBits(value);
                break;
            default:
                bitMask &= Broadcast(rotated);
                data = setReset;
                break;
        }

        data = ((rotateRegister >> 3) & 3) switch
        {
            1 => data & _latches,
            2 => data | _latches,
            3 => data ^ _latches,
            _ => data,
        };
        return (data & bitMask) | (_latches & ~bitMask);
    }

    /// <summary>Maps an offset from A0000h to a plane address through the graphics controller's memory map select.</summary>
    private bool TryMapCpuAddress(uint windowOffset, out int address)
    {
        switch ((_graphics[GcMiscellaneous] >> GraphicsMiscMemoryMapShift) & 3)
        {
            case 0: // A0000h-BFFFFh, 128 KiB (the plane address wraps at 64 KiB)
                address = (int)windowOffset;
                return true;
            case 1: // A0000h-AFFFFh
                address = (int)windowOffset;
                return windowOffset < 0x10000;
            case 2: // B0000h-B7FFFh
                address = (int)windowOffset - 0x10000;
                return windowOffset is >= 0x10000 and < 0x18000;
            default: // B8000h-BFFFFh
                address = (int)windowOffset - 0x18000;
                return windowOffset >= 0x18000;
        }
    }
}
