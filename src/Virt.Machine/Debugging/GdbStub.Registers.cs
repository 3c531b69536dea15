using System.Buffers.Binary;
using Virt.Cpu;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine.Debugging;

/// <summary>The register packets (<c>g</c>, <c>G</c>, <c>p</c>, <c>P</c>) in the layout of the connection's target description.</summary>
public sealed partial class GdbStub
{
    // FXSAVE image offsets (Intel SDM Vol. 1, 10.5.1, Table 10-2): FCW, FSW, abridged FTW, FOP, FIP, FCS, FDP, FDS, ST(i).
    private const int FxsaveControlWord = 0;
    private const int FxsaveStatusWord = 2;
    private const int FxsaveAbridgedTag = 4;
    private const int FxsaveOpcode = 6;
    private const int FxsaveInstructionOffset = 8;
    private const int FxsaveInstructionSelector = 12;
    private const int FxsaveDataOffset = 16;
    private const int FxsaveDataSelector = 20;
    private const int FxsaveRegisters = 32;
    private const int FxsaveRegisterSlot = 16;
    private const int X87StatusTopShift = 11;
    private const int X87StatusTopMask = 7;
    private const int X87ExponentMask = 0x7FFF;
    private const ulong X87IntegerBit = 1UL << 63;
    private const int X87TagValid = 0;
    private const int X87TagZero = 1;
    private const int X87TagSpecial = 2;
    private const int X87TagEmpty = 3;
    private const ulong EferLongModeActive = 1UL << 10;
    private const int KernelGsBaseIndex = 4;
    private const int Cr8Index = 6;

    private GdbTargetDescription _description = GdbTargetDescription.I386;

    /// <summary>
    /// The description for a new connection: x86-64 when the CPU is in long mode (EFER.LMA, Intel SDM Vol. 3A, 2.2.1),
    /// i386 otherwise. gdb reads the description once, when it connects, and keeps its layout for the connection; a guest
    /// that changes mode while gdb is attached goes on being shown in the layout gdb was given (64-bit values truncated to
    /// 32 bits in the i386 layout, legacy-mode values zero-extended in the x86-64 one, as QEMU's x86-64 stub shows them);
    /// reconnecting picks the layout again.
    /// </summary>
    private GdbTargetDescription ChooseDescription() =>
        (_machine.Cpu.Efer & EferLongModeActive) != 0 ? GdbTargetDescription.X86_64 : GdbTargetDescription.I386;

    private static string ToHexLittleEndian(ulong value, int sizeInBytes)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return ToHex(bytes[..sizeInBytes]);
    }

    private static bool TryParseBytes(ReadOnlySpan<char> hex, int sizeInBytes, out byte[] bytes)
    {
        bytes = [];
        if (hex.Length != sizeInBytes * 2)
        {
            return false;
        }

        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The full x87 tag word (two bits per physical register) from the FXSAVE abridged tag and the register contents (Intel SDM Vol. 1, 8.1.7 and 10.5.1).</summary>
    private static ushort FullTagWord(ReadOnlySpan<byte> fxsave)
    {
        int top = (BinaryPrimitives.ReadUInt16LittleEndian(fxsave[FxsaveStatusWord..]) >> X87StatusTopShift) & X87StatusTopMask;
        int tags = 0;
        for (int physical = 0; physical < GdbTargetDescription.X87DataRegisterCount; physical++)
        {
            int tag;
            if ((fxsave[FxsaveAbridgedTag] & (1 << physical)) == 0)
            {
                tag = X87TagEmpty;
            }
            else
            {
                // Physical register Ri is ST((i - TOP) mod 8), the slot FXSAVE stores it in.
                ReadOnlySpan<byte> value = fxsave.Slice(FxsaveRegisters + (FxsaveRegisterSlot * ((physical - top) & 7)), GdbTargetDescription.X87DataRegisterSizeInBytes);
                ulong mantissa = BinaryPrimitives.ReadUInt64LittleEndian(value);
                int exponent = BinaryPrimitives.ReadUInt16LittleEndian(value[8..]) & X87ExponentMask;
                tag = exponent == 0 && mantissa == 0 ? X87TagZero
                    : exponent == 0 || exponent == X87ExponentMask || (mantissa & X87IntegerBit) == 0 ? X87TagSpecial
                    : X87TagValid;
            }

            tags |= tag << (2 * physical);
        }

        return (ushort)tags;
    }

    /// <summary>The abridged tag (bit i: physical register Ri is not empty) of a full tag word.</summary>
    private static byte AbridgedTag(ushort fullTagWord)
    {
        int abridged = 0;
        for (int physical = 0; physical < GdbTargetDescription.X87DataRegisterCount; physical++)
        {
            if (((fullTagWord >> (2 * physical)) & 3) != X87TagEmpty)
            {
                abridged |= 1 << physical;
            }
        }

        return (byte)abridged;
    }

    /// <summary>gdb's order after eflags: cs, ss, ds, es, fs, gs.</summary>
    private static SegmentRegister SegmentOf(int index) => index switch
    {
        0 => SegmentRegister.Cs,
        1 => SegmentRegister.Ss,
        2 => SegmentRegister.Ds,
        3 => SegmentRegister.Es,
        4 => SegmentRegister.Fs,
        _ => SegmentRegister.Gs,
    };

    private string ReadAllRegisters()
    {
        CpuState state = _machine.Cpu.SaveState();
        var text = new System.Text.StringBuilder();
        foreach (GdbRegister register in _description.Registers)
        {
            text.Append(ReadRegister(register, state));
        }

        return text.ToString();
    }

    private string ReadRegister(GdbRegister register, CpuState? state = null)
    {
        X86Cpu cpu = _machine.Cpu;
        int size = register.SizeInBytes;
        switch (register.Kind)
        {
            case GdbRegisterKind.X87Data:
            {
                byte[] image = [.. (state ?? cpu.SaveState()).X87Image!];
                return ToHex(image.AsSpan(FxsaveRegisters + (FxsaveRegisterSlot * register.Index), size));
            }

            case GdbRegisterKind.X87Control:
                return ToHexLittleEndian(ReadX87Control([.. (state ?? cpu.SaveState()).X87Image!], register.Index), size);
            case GdbRegisterKind.Xmm:
            {
                Span<byte> bytes = stackalloc byte[16];
                BinaryPrimitives.WriteUInt128LittleEndian(bytes, cpu.GetXmm(register.Index));
                return ToHex(bytes);
            }

            default:
                return ToHexLittleEndian(ReadScalar(register, state), size);
        }
    }

    private ulong ReadScalar(GdbRegister register, CpuState? state)
    {
        X86Cpu cpu = _machine.Cpu;
        ulong mask = register.SizeInBytes == 8 ? ulong.MaxValue : uint.MaxValue;
        ulong value = register.Kind switch
        {
            GdbRegisterKind.General => cpu.GetRegister((GeneralRegister)register.Index),
            GdbRegisterKind.InstructionPointer => cpu.Rip,
            GdbRegisterKind.Flags => cpu.Flags,
            GdbRegisterKind.Segment => cpu.GetSegment(SegmentOf(register.Index)).Selector,
            GdbRegisterKind.SegmentBase => cpu.GetSegment(SegmentOf(register.Index)).Base,
            GdbRegisterKind.KernelGsBase => (state ?? cpu.SaveState()).LongModeRegisters?[KernelGsBaseIndex] ?? 0,
            GdbRegisterKind.Control => register.Index switch
            {
                0 => cpu.Cr0,
                2 => cpu.Cr2,
                3 => cpu.Cr3,
                4 => cpu.Cr4,
                _ => (state ?? cpu.SaveState()).LongModeRegisters?[Cr8Index] ?? 0,
            },
            GdbRegisterKind.Efer => cpu.Efer,
            GdbRegisterKind.Mxcsr => cpu.Mxcsr,
            _ => 0,
        };
        return value & mask;
    }

    private static uint ReadX87Control(ReadOnlySpan<byte> fxsave, int index) => index switch
    {
        0 => BinaryPrimitives.ReadUInt16LittleEndian(fxsave[FxsaveControlWord..]),
        1 => BinaryPrimitives.ReadUInt16LittleEndian(fxsave[FxsaveStatusWord..]),
        2 => FullTagWord(fxsave),
        3 => BinaryPrimitives.ReadUInt16LittleEndian(fxsave[FxsaveInstructionSelector..]),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(fxsave[FxsaveInstructionOffset..]),
        5 => BinaryPrimitives.ReadUInt16LittleEndian(fxsave[FxsaveDataSelector..]),
        6 => BinaryPrimitives.ReadUInt32LittleEndian(fxsave[FxsaveDataOffset..]),
        _ => BinaryPrimitives.ReadUInt16LittleEndian(fxsave[FxsaveOpcode..]),
    };

    private string WriteAllRegisters(ReadOnlySpan<char> hex)
    {
        // Parse everything first, so a malformed packet changes nothing.
        var values = new List<(GdbRegister Register, byte[] Bytes)>();
        int offset = 0;
        foreach (GdbRegister register in _description.Registers)
        {
            int digits = register.SizeInBytes * 2;
            if (offset + digits > hex.Length)
            {
                break; // gdb may send fewer registers than the description has
            }

            if (!TryParseBytes(hex.Slice(offset, digits), register.SizeInBytes, out byte[] bytes))
            {
                return "E01";
            }

            values.Add((register, bytes));
            offset += digits;
        }

        if (offset != hex.Length || values.Count == 0)
        {
            return "E01";
        }

        bool ok = true;
        foreach ((GdbRegister register, byte[] bytes) in values)
        {
            ok &= SetRegister(register, bytes);
        }

        return ok ? "OK" : "E01";
    }

    private string WriteRegister(ReadOnlySpan<char> args)
    {
        int equals = args.IndexOf('=');
        if (equals < 0 || !TryParseHex(args[..equals], out ulong number) || number >= (ulong)_description.Registers.Count)
        {
            return "E01";
        }

        GdbRegister register = _description.Registers[(int)number];
        return TryParseBytes(args[(equals + 1)..], register.SizeInBytes, out byte[] bytes) && SetRegister(register, bytes) ? "OK" : "E01";
    }

    /// <summary>
    /// Sets one register from its little-endian bytes. A segment selector can change only outside protected mode (no
    /// descriptor load from the debugger); control registers, EFER and KERNEL_GS_BASE are read-only here (a write of the
    /// current value is accepted, as gdb's <c>G</c> sends every register back).
    /// </summary>
    private bool SetRegister(GdbRegister register, byte[] bytes)
    {
        X86Cpu cpu = _machine.Cpu;
        switch (register.Kind)
        {
            case GdbRegisterKind.X87Data or GdbRegisterKind.X87Control:
                return SetX87(register, bytes);
            case GdbRegisterKind.Xmm:
                cpu.SetXmm(register.Index, BinaryPrimitives.ReadUInt128LittleEndian(bytes));
                return true;
            default:
                break;
        }

        Span<byte> wide = stackalloc byte[8];
        bytes.CopyTo(wide);
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(wide);
        switch (register.Kind)
        {
            case GdbRegisterKind.General:
                cpu.SetRegister((GeneralRegister)register.Index, value);
                return true;
            case GdbRegisterKind.InstructionPointer:
                cpu.Rip = value;
                return true;
            case GdbRegisterKind.Flags:
                cpu.Flags = (uint)value;
                return true;
            case GdbRegisterKind.Mxcsr:
                cpu.Mxcsr = (uint)value;
                return true;
            case GdbRegisterKind.SegmentBase:
            {
                SegmentRegister segment = SegmentOf(register.Index);
                SegmentState current = cpu.GetSegment(segment);
                if (current.Base != value)
                {
                    cpu.SetSegment(segment, current with { Base = value });
                }

                return true;
            }

            case GdbRegisterKind.Segment:
            {
                SegmentRegister segment = SegmentOf(register.Index);
                if (cpu.GetSegment(segment).Selector == value)
                {
                    return true;
                }

                if (cpu.IsProtectedMode || value > ushort.MaxValue)
                {
                    return false;
                }

                cpu.LoadSegmentRealMode(segment, (ushort)value);
                return true;
            }

            default:
                return ReadScalar(register, state: null) == value;
        }
    }

    /// <summary>Changes one field of the x87 state through its FXSAVE image (the CPU's own save format), then restores the CPU from it.</summary>
    private bool SetX87(GdbRegister register, byte[] bytes)
    {
        X86Cpu cpu = _machine.Cpu;
        CpuState state = cpu.SaveState();
        byte[] image = [.. state.X87Image!];
        if (register.Kind == GdbRegisterKind.X87Data)
        {
            bytes.CopyTo(image.AsSpan(FxsaveRegisters + (FxsaveRegisterSlot * register.Index)));
        }
        else
        {
            uint value = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
            if (ReadX87Control(image, register.Index) == value)
            {
                return true;
            }

            if (register.Index is 0 or 1 or 2 or 3 or 5 or 7 && value > ushort.MaxValue)
            {
                return false;
            }

            switch (register.Index)
            {
                case 0: BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(FxsaveControlWord), (ushort)value); break;
                case 1: BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(FxsaveStatusWord), (ushort)value); break;
                case 2: image[FxsaveAbridgedTag] = AbridgedTag((ushort)value); break;
                case 3: BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(FxsaveInstructionSelector), (ushort)value); break;
                case 4: BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(FxsaveInstructionOffset), value); break;
                case 5: BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(FxsaveDataSelector), (ushort)value); break;
                case 6: BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(FxsaveDataOffset), value); break;
                default: BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(FxsaveOpcode), (ushort)(value & 0x7FF)); break;
            }
        }

        cpu.RestoreState(state with { X87Image = image });
        return true;
    }
}
