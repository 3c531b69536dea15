using System.Buffers.Binary;

namespace Virt.Cpu.X87;

/// <summary>
/// The x87 register file and its control registers (Intel SDM Vol. 1, 8.1): eight physical data
/// registers R0-R7 addressed as a stack through TOP, the control, status and tag words, and the last
/// instruction and data pointers. Serializes to the FSTENV/FSAVE images in their four layouts and to
/// the x87 part of the FXSAVE image.
/// </summary>
/// <remarks>
/// Tags are kept as an "empty" bit per physical register, the same information as the FXSAVE abridged
/// tag byte; the full 2-bit tag is derived from the register contents whenever it is read, which is
/// what FSTENV/FSAVE store on P6-family and later processors.
/// </remarks>
internal sealed class X87State
{
    /// <summary>Size of the FSTENV image with a 16-bit operand size.</summary>
    public const int Environment16SizeInBytes = 14;

    /// <summary>Size of the FSTENV image with a 32-bit operand size.</summary>
    public const int Environment32SizeInBytes = 28;

    /// <summary>Size of the FXSAVE area.</summary>
    public const int FxsaveSizeInBytes = 512;

    private readonly Float80[] _registers = new Float80[8];

    /// <summary>Bit i set: physical register Ri is empty (tag 11).</summary>
    private byte _emptyMask = 0xFF;

    private ushort _statusWord;

    public X87State() => Initialize();

    /// <summary>The control word; bits 6, 7 and 13-15 are reserved (bit 6 reads as 1 after FINIT).</summary>
    public ushort ControlWord { get; set; }

    /// <summary>
    /// The status word: exception flags, SF, ES, C0-C3, TOP (bits 11-13) and B. Setting it also sets
    /// TOP; ES and B are recomputed from the flags and the control word's masks.
    /// </summary>
    public ushort StatusWord
    {
        get
        {
            ushort value = (ushort)(_statusWord & ~(X87StatusBits.ErrorSummary | X87StatusBits.Busy));
            if ((value & ~ControlWord & (ushort)X87Exceptions.All) != 0)
            {
                value |= X87StatusBits.ErrorSummary | X87StatusBits.Busy;
            }

            return value;
        }

        set => _statusWord = value;
    }

    /// <summary>The top-of-stack pointer, status word bits 11-13.</summary>
    public int Top
    {
        get => (_statusWord >> X87StatusBits.TopShift) & 7;
        set => _statusWord = (ushort)((_statusWord & ~X87StatusBits.TopMask) | ((value & 7) << X87StatusBits.TopShift));
    }

    /// <summary>Last instruction pointer offset (FIP), as the core records it for non-control x87 instructions.</summary>
    public uint InstructionOffset { get; set; }

    /// <summary>Last instruction code segment selector (FCS).</summary>
    public ushort InstructionSelector { get; set; }

    /// <summary>Last data operand offset (FDP).</summary>
    public uint DataOffset { get; set; }

    /// <summary>Last data operand segment selector (FDS).</summary>
    public ushort DataSelector { get; set; }

    /// <summary>The last opcode (FOP): 11 bits, the low 3 bits of the first opcode byte then the ModR/M byte.</summary>
    public ushort Opcode
    {
        get;
        set => field = (ushort)(value & 0x7FF);
    }

    /// <summary>The rounding, precision and masks of the control word as a fresh context for one operation.</summary>
    public X87Context CreateContext() => X87Context.FromControlWord(ControlWord);

    /// <summary>FNINIT/FINIT (and the FPU part of RESET): CW 037F, SW 0, all tags empty, pointers 0. Data registers keep their contents.</summary>
    public void Initialize()
    {
        ControlWord = X87Context.DefaultControlWord;
        _statusWord = 0;
        _emptyMask = 0xFF;
        InstructionOffset = 0;
        InstructionSelector = 0;
        DataOffset = 0;
        DataSelector = 0;
        Opcode = 0;
    }

    /// <summary>Physical register Ri (0-7), regardless of TOP.</summary>
    public ref Float80 Physical(int index) => ref _registers[index & 7];

    /// <summary>ST(i): physical register (TOP + i) mod 8.</summary>
    public ref Float80 St(int i) => ref _registers[(Top + i) & 7];

    public bool IsPhysicalEmpty(int index) => (_emptyMask & (1 << (index & 7))) != 0;

    public bool IsEmpty(int i) => IsPhysicalEmpty(Top + i);

    /// <summary>Writes ST(i) and marks it non-empty.</summary>
    public void SetSt(int i, in Float80 value)
    {
        int index = (Top + i) & 7;
        _registers[index] = value;
        _emptyMask &= (byte)~(1 << index);
    }

    /// <summary>FFREE: marks ST(i) empty.</summary>
    public void Free(int i) => _emptyMask |= (byte)(1 << ((Top + i) & 7));

    /// <summary>The 2-bit tag of physical register Ri, derived from its contents.</summary>
    public X87Tag GetTag(int index)
    {
        if (IsPhysicalEmpty(index))
        {
            return X87Tag.Empty;
        }

        return _registers[index & 7].Class switch
        {
            Float80Class.Normal => X87Tag.Valid,
            Float80Class.Zero => X87Tag.Zero,
            _ => X87Tag.Special,
        };
    }

    /// <summary>The full tag word, two bits per physical register (R0 in bits 0-1).</summary>
    public ushort TagWord
    {
        get
        {
            int word = 0;
            for (int i = 0; i < 8; i++)
            {
                word |= (int)GetTag(i) << (2 * i);
            }

            return (ushort)word;
        }

        set
        {
            // Only "empty" is kept: other tags are re-derived from the registers (see remarks).
            byte mask = 0;
            for (int i = 0; i < 8; i++)
            {
                if (((value >> (2 * i)) & 3) == (int)X87Tag.Empty)
                {
                    mask |= (byte)(1 << i);
                }
            }

            _emptyMask = mask;
        }
    }

    /// <summary>The FXSAVE abridged tag byte: bit i set when physical register Ri is not empty.</summary>
    public byte AbridgedTagWord
    {
        get => (byte)~_emptyMask;
        set => _emptyMask = (byte)~value;
    }

    /// <summary>Sets C0-C3 (the other bits of <paramref name="codes"/> are ignored).</summary>
    public void SetConditionCodes(ushort codes) =>
        _statusWord = (ushort)((_statusWord & ~X87StatusBits.ConditionMask) | (codes & X87StatusBits.ConditionMask));

    public bool C1
    {
        get => (_statusWord & X87StatusBits.C1) != 0;
        set => _statusWord = (ushort)(value ? _statusWord | X87StatusBits.C1 : _statusWord & ~X87StatusBits.C1);
    }

    public bool C2
    {
        get => (_statusWord & X87StatusBits.C2) != 0;
        set => _statusWord = (ushort)(value ? _statusWord | X87StatusBits.C2 : _statusWord & ~X87StatusBits.C2);
    }

    /// <summary>
    /// Merges the exception flags of an operation into the sticky status word flags and sets C1 from the
    /// rounding direction when the operation reported precision (otherwise C1 is cleared), as arithmetic
    /// instructions do; after a stack fault C1 keeps the overflow/underflow indication that
    /// <see cref="StackFault"/> gave it. Returns the exceptions that are unmasked, for which the core
    /// raises #MF or FERR (at the next waiting x87 instruction).
    /// </summary>
    public X87Exceptions Merge(in X87Context ctx)
    {
        _statusWord |= (ushort)ctx.Flags;
        if ((ctx.Flags & X87Exceptions.StackFault) == 0)
        {
            C1 = ctx.RoundedUp && (ctx.Flags & X87Exceptions.Precision) != 0;
        }

        return ctx.Unmasked;
    }

    /// <summary>Exceptions flagged in the status word and unmasked in the control word: ES, FERR# asserted.</summary>
    public bool ErrorPending => (_statusWord & ~ControlWord & (ushort)X87Exceptions.All) != 0;

    /// <summary>FCLEX/FNCLEX: clears the exception flags, SF, ES and B.</summary>
    public void ClearExceptions() => _statusWord &= 0x7F00;

    /// <summary>
    /// Checks that ST(i) holds a value. When it is empty this is a stack underflow (Intel SDM Vol. 1,
    /// 8.5.1.1): IE and SF with C1 = 0; returns false. With IE masked the instruction continues with the
    /// real indefinite as the operand's value; unmasked, the context's <see cref="X87Context.SuppressWrite"/> is set.
    /// </summary>
    public bool CheckOperand(int i, ref X87Context ctx)
    {
        if (!IsEmpty(i))
        {
            return true;
        }

        StackFault(ref ctx, overflow: false);
        return false;
    }

    /// <summary>
    /// Pushes a value: TOP decrements and the new ST(0) is written. If the target register is not empty
    /// this is a stack overflow: IE, SF and C1 = 1; masked, the real indefinite is pushed instead; unmasked,
    /// nothing changes and false is returned.
    /// </summary>
    public bool Push(in Float80 value, ref X87Context ctx)
    {
        Float80 pushed = value;
        if (!IsPhysicalEmpty(Top - 1))
        {
            StackFault(ref ctx, overflow: true);
            if (ctx.SuppressWrite)
            {
                return false;
            }

            pushed = Float80.Indefinite;
        }

        Top--;
        SetSt(0, pushed);
        return true;
    }

    /// <summary>Pops: marks ST(0) empty and increments TOP.</summary>
    public void Pop()
    {
        Free(0);
        Top++;
    }

    /// <summary>Records a stack fault in the context (IE + SF) and C1 in the status word.</summary>
    public void StackFault(ref X87Context ctx, bool overflow)
    {
        ctx.Flags |= X87Exceptions.StackFault;
        ctx.Raise(X87Exceptions.Invalid);
        C1 = overflow;
    }

    /// <summary>FSTENV/FNSTENV: writes the 14- or 28-byte environment image.</summary>
    public void WriteEnvironment(Span<byte> destination, X87EnvironmentFormat format)
    {
        ushort tagWord = TagWord;
        ushort statusWord = StatusWord;
        switch (format)
        {
            case X87EnvironmentFormat.Protected32:
                destination[..Environment32SizeInBytes].Clear();
                WriteWordWithHighOnes(destination, 0, ControlWord);
                WriteWordWithHighOnes(destination, 4, statusWord);
                WriteWordWithHighOnes(destination, 8, tagWord);
                BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], InstructionOffset);
                BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], InstructionSelector | ((uint)Opcode << 16));
                BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], DataOffset);
                WriteWordWithHighOnes(destination, 24, DataSelector);
                break;
            case X87EnvironmentFormat.Real32:
            {
                uint ip = LinearInstructionPointer;
                uint dp = LinearDataPointer;
                destination[..Environment32SizeInBytes].Clear();
                WriteWordWithHighOnes(destination, 0, ControlWord);
                WriteWordWithHighOnes(destination, 4, statusWord);
                WriteWordWithHighOnes(destination, 8, tagWord);
                WriteWordWithHighOnes(destination, 12, (ushort)ip);
                BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], ((ip >> 16) << 12) | Opcode);
                WriteWordWithHighOnes(destination, 20, (ushort)dp);
                BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], (dp >> 16) << 12);
                break;
            }

            case X87EnvironmentFormat.Protected16:
                BinaryPrimitives.WriteUInt16LittleEndian(destination, ControlWord);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], statusWord);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], tagWord);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)InstructionOffset);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], InstructionSelector);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], (ushort)DataOffset);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[12..], DataSelector);
                break;
            default:
            {
                uint ip = LinearInstructionPointer;
                uint dp = LinearDataPointer;
                BinaryPrimitives.WriteUInt16LittleEndian(destination, ControlWord);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], statusWord);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], tagWord);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)ip);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], (ushort)((((ip >> 16) & 0xF) << 12) | Opcode));
                BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], (ushort)dp);
                BinaryPrimitives.WriteUInt16LittleEndian(destination[12..], (ushort)(((dp >> 16) & 0xF) << 12));
                break;
            }
        }
    }

    /// <summary>
    /// FLDENV: loads the environment image. In the real-mode layouts the pointers are linear addresses;
    /// they load as offsets with selector 0 (so that a later real-mode FSTENV writes them back unchanged).
    /// </summary>
    public void ReadEnvironment(ReadOnlySpan<byte> source, X87EnvironmentFormat format)
    {
        switch (format)
        {
            case X87EnvironmentFormat.Protected32:
                ControlWord = BinaryPrimitives.ReadUInt16LittleEndian(source);
                StatusWord = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]);
                TagWord = BinaryPrimitives.ReadUInt16LittleEndian(source[8..]);
                InstructionOffset = BinaryPrimitives.ReadUInt32LittleEndian(source[12..]);
                InstructionSelector = BinaryPrimitives.ReadUInt16LittleEndian(source[16..]);
                Opcode = BinaryPrimitives.ReadUInt16LittleEndian(source[18..]);
                DataOffset = BinaryPrimitives.ReadUInt32LittleEndian(source[20..]);
                DataSelector = BinaryPrimitives.ReadUInt16LittleEndian(source[24..]);
                break;
            case X87EnvironmentFormat.Real32:
            {
                ControlWord = BinaryPrimitives.ReadUInt16LittleEndian(source);
                StatusWord = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]);
                TagWord = BinaryPrimitives.ReadUInt16LittleEndian(source[8..]);
                uint word16 = BinaryPrimitives.ReadUInt32LittleEndian(source[16..]);
                uint word24 = BinaryPrimitives.ReadUInt32LittleEndian(source[24..]);
                InstructionOffset = BinaryPrimitives.ReadUInt16LittleEndian(source[12..]) | (((word16 >> 12) & 0xFFFF) << 16);
                Opcode = (ushort)word16;
                DataOffset = BinaryPrimitives.ReadUInt16LittleEndian(source[20..]) | (((word24 >> 12) & 0xFFFF) << 16);
                InstructionSelector = 0;
                DataSelector = 0;
                break;
            }

            case X87EnvironmentFormat.Protected16:
                ControlWord = BinaryPrimitives.ReadUInt16LittleEndian(source);
                StatusWord = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]);
                TagWord = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]);
                InstructionOffset = BinaryPrimitives.ReadUInt16LittleEndian(source[6..]);
                InstructionSelector = BinaryPrimitives.ReadUInt16LittleEndian(source[8..]);
                DataOffset = BinaryPrimitives.ReadUInt16LittleEndian(source[10..]);
                DataSelector = BinaryPrimitives.ReadUInt16LittleEndian(source[12..]);
                break;
            default:
            {
                ControlWord = BinaryPrimitives.ReadUInt16LittleEndian(source);
                StatusWord = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]);
                TagWord = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]);
                ushort word8 = BinaryPrimitives.ReadUInt16LittleEndian(source[8..]);
                ushort word12 = BinaryPrimitives.ReadUInt16LittleEndian(source[12..]);
                InstructionOffset = BinaryPrimitives.ReadUInt16LittleEndian(source[6..]) | ((uint)(word8 >> 12) << 16);
                Opcode = word8;
                DataOffset = BinaryPrimitives.ReadUInt16LittleEndian(source[10..]) | ((uint)(word12 >> 12) << 16);
                InstructionSelector = 0;
                DataSelector = 0;
                break;
            }
        }
    }

    /// <summary>Size of the environment image in a layout.</summary>
    public static int EnvironmentSizeInBytes(X87EnvironmentFormat format) =>
        format is X87EnvironmentFormat.Protected32 or X87EnvironmentFormat.Real32 ? Environment32SizeInBytes : Environment16SizeInBytes;

    /// <summary>Size of the FSAVE image in a layout: the environment then ST(0)-ST(7), 10 bytes each.</summary>
    public static int SaveSizeInBytes(X87EnvironmentFormat format) => EnvironmentSizeInBytes(format) + (8 * Float80.SizeInBytes);

    /// <summary>
    /// FSAVE/FNSAVE: writes the environment and the registers in stack order (ST(0) first). The instruction
    /// then reinitializes the FPU: the core calls <see cref="Initialize"/> after a successful store.
    /// </summary>
    public void Save(Span<byte> destination, X87EnvironmentFormat format)
    {
        WriteEnvironment(destination, format);
        int offset = EnvironmentSizeInBytes(format);
        for (int i = 0; i < 8; i++)
        {
            St(i).WriteTo(destination.Slice(offset + (i * Float80.SizeInBytes), Float80.SizeInBytes));
        }
    }

    /// <summary>FRSTOR: loads the environment, then the registers in stack order relative to the loaded TOP.</summary>
    public void Restore(ReadOnlySpan<byte> source, X87EnvironmentFormat format)
    {
        ReadEnvironment(source, format);
        int offset = EnvironmentSizeInBytes(format);
        for (int i = 0; i < 8; i++)
        {
            St(i) = Float80.ReadFrom(source.Slice(offset + (i * Float80.SizeInBytes), Float80.SizeInBytes));
        }
    }

    /// <summary>
    /// FXSAVE (x87 part, 32-bit format, Intel SDM Vol. 2A FXSAVE Table 3-53): FCW, FSW, abridged FTW, FOP,
    /// FIP, FCS, FDP, FDS and ST(0)-ST(7) in 16-byte slots. Bytes 24-31 (MXCSR, MXCSR_MASK) and 160-511
    /// (XMM registers and the reserved area) are left untouched for the SSE unit.
    /// </summary>
    public void WriteFxsave(Span<byte> destination)
    {
        _ = destination[FxsaveSizeInBytes - 1];
        BinaryPrimitives.WriteUInt16LittleEndian(destination, ControlWord);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], StatusWord);
        destination[4] = AbridgedTagWord;
        destination[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], Opcode);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], InstructionOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], InstructionSelector);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], DataOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], DataSelector);
        for (int i = 0; i < 8; i++)
        {
            Span<byte> slot = destination.Slice(32 + (16 * i), 16);
            St(i).WriteTo(slot);
            slot[10..].Clear();
        }
    }

    /// <summary>FXRSTOR (x87 part): the inverse of <see cref="WriteFxsave"/>; tags come from the abridged byte.</summary>
    public void ReadFxsave(ReadOnlySpan<byte> source)
    {
        _ = source[FxsaveSizeInBytes - 1];
        ControlWord = BinaryPrimitives.ReadUInt16LittleEndian(source);
        StatusWord = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]);
        AbridgedTagWord = source[4];
        Opcode = BinaryPrimitives.ReadUInt16LittleEndian(source[6..]);
        InstructionOffset = BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        InstructionSelector = BinaryPrimitives.ReadUInt16LittleEndian(source[12..]);
        DataOffset = BinaryPrimitives.ReadUInt32LittleEndian(source[16..]);
        DataSelector = BinaryPrimitives.ReadUInt16LittleEndian(source[20..]);
        for (int i = 0; i < 8; i++)
        {
            St(i) = Float80.ReadFrom(source.Slice(32 + (16 * i), Float80.SizeInBytes));
        }
    }

    /// <summary>The instruction pointer as the real-mode images store it: FCS * 16 + FIP.</summary>
    private uint LinearInstructionPointer => ((uint)InstructionSelector << 4) + InstructionOffset;

    private uint LinearDataPointer => ((uint)DataSelector << 4) + DataOffset;

    /// <summary>32-bit images store 16-bit fields with the upper half reserved; hardware writes ones there.</summary>
    private static void WriteWordWithHighOnes(Span<byte> destination, int offset, ushort value) =>
        BinaryPrimitives.WriteUInt32LittleEndian(destination[offset..], 0xFFFF_0000u | value);
}
