using System.Text.Json;
using Iced.Intel;

namespace Virt.Cpu.Tests.Conformance;

/// <summary>
/// What the CPU we model (Pentium Pro class, real mode) must do where the 286 the suite captured differs: the exception it
/// raises and the state it raises it from, derived from the test's initial state and the Intel SDM, not from the CPU under test.
/// </summary>
/// <remarks>
/// Every case here is a fault (Intel SDM Vol. 3A, 6.5): the pushed CS:IP is the address of the instruction's first prefix and
/// the registers are those from before the instruction, or for a REP string instruction from before the faulting iteration
/// (the iterations before it are complete: Vol. 2B, REP, "the instruction is restartable"). In real mode the frame is FLAGS,
/// CS, IP below SS:SP (Vol. 3A, 21.1.4).
/// </remarks>
internal static class Sst286FaultModel
{
    /// <summary>The vector of #DE.</summary>
    public const int DivideError = 0;

    /// <summary>The vector of #UD.</summary>
    public const int InvalidOpcode = 6;

    /// <summary>The vector of #SS.</summary>
    public const int StackFault = 12;

    /// <summary>The vector of #GP.</summary>
    public const int GeneralProtection = 13;

    private const int SegmentLimit = 0xFFFF;

    private static readonly string[] s_registerNames = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];

    private static readonly HashSet<Mnemonic> s_stackMnemonics =
    [
        Mnemonic.Push, Mnemonic.Pop, Mnemonic.Pusha, Mnemonic.Popa, Mnemonic.Pushf, Mnemonic.Popf, Mnemonic.Call, Mnemonic.Ret,
        Mnemonic.Retf, Mnemonic.Iret, Mnemonic.Int, Mnemonic.Int3, Mnemonic.Into, Mnemonic.Enter,
    ];

    /// <summary>Decodes the test's instruction as the 16-bit decoder sees it.</summary>
    public static Instruction Decode(JsonElement test)
    {
        byte[] bytes = [.. test.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32())];
        var decoder = Iced.Intel.Decoder.Create(16, new ByteArrayCodeReader(bytes), DecoderOptions.NoInvalidCheck);
        decoder.Decode(out Instruction instruction);
        return instruction;
    }

    /// <summary>
    /// The modelled fault for a case excluded for <paramref name="reason"/> (one of <see cref="Sst286Exclusions.Modelled"/>),
    /// or null with <paramref name="why"/> when the model says the instruction does not fault at all.
    /// </summary>
    public static ModelledFault? Expect(string reason, JsonElement test, out string why)
    {
        why = string.Empty;
        Instruction instruction = Decode(test);
        JsonElement regs = test.GetProperty("initial").GetProperty("regs");
        ushort[] registers = [.. s_registerNames.Select(n => (ushort)regs.GetProperty(n).GetInt32())];
        ushort flags = (ushort)((regs.GetProperty("flags").GetInt32() & 0x0FFF) | 2);
        switch (reason)
        {
            case "lock":
                // Intel SDM Vol. 2A, LOCK: "#UD if the LOCK prefix is used with an instruction not listed" or with a
                // register destination; decoded before any operand is touched.
                return new ModelledFault(InvalidOpcode, registers, flags, Iterations: 0);
            case "aam0-flags":
                // Vol. 2A, AAM: #DE for an immediate of 0, with FLAGS as before (a fault).
                return new ModelledFault(DivideError, registers, flags, Iterations: 0);
            case "pop-fault":
                {
                    // Vol. 2B, POP: the stack read comes first; if it stays within SS, the write to the destination faults,
                    // and SP is not incremented ("If the destination operand ... causes a fault, ESP is unchanged").
                    ushort sp = registers[4];
                    int vector = sp == SegmentLimit ? StackFault
                        : instruction.MemorySegment == Register.SS ? StackFault : GeneralProtection;
                    return new ModelledFault(vector, registers, flags, Iterations: 0);
                }

            case "string-fault":
                return StringFault(instruction, registers, flags, out why);
            default:
                throw new ArgumentOutOfRangeException(nameof(reason), reason, "not a modelled exclusion");
        }
    }

    /// <summary>
    /// Whether the access that exceeds a limit goes through SS: a memory operand addressed through SS (BP-based or an SS
    /// override) that runs past offset FFFFh, or a stack access when no explicit operand does (Vol. 3A, 6.15, interrupt 12:
    /// "#SS ... a limit violation is detected during an operation that refers to the SS register").
    /// </summary>
    public static bool AccessGoesThroughSs(JsonElement test)
    {
        Instruction instruction = Decode(test);
        if (instruction.Mnemonic == Mnemonic.Leave)
        {
            // LEAVE reads through SS:BP, but the SDM's "Real-Address Mode Exceptions" for LEAVE name #GP: "If the EBP
            // register points to a location outside of the effective address space from 0 to FFFFH" (Vol. 2A, LEAVE).
            return false;
        }

        JsonElement regs = test.GetProperty("initial").GetProperty("regs");
        if (instruction.IsStringInstruction)
        {
            // Only the source (DS:SI or an override) can be SS; ES:DI never is.
            return instruction.MemorySegment == Register.SS && instruction.MemorySize.GetSize() > 1
                && regs.GetProperty("si").GetInt32() == SegmentLimit;
        }

        for (int i = 0; i < instruction.OpCount; i++)
        {
            if (instruction.GetOpKind(i) == OpKind.Memory && OperandCrossesTheLimit(instruction, regs))
            {
                return instruction.MemorySegment == Register.SS;
            }
        }

        return s_stackMnemonics.Contains(instruction.Mnemonic);
    }

    private static bool OperandCrossesTheLimit(in Instruction instruction, JsonElement regs)
    {
        uint ea = (uint)instruction.MemoryDisplacement64;
        if (instruction.MemoryBase != Register.None)
        {
            ea += (uint)regs.GetProperty(instruction.MemoryBase.ToString().ToLowerInvariant()).GetInt32();
        }

        if (instruction.MemoryIndex != Register.None)
        {
            ea += (uint)regs.GetProperty(instruction.MemoryIndex.ToString().ToLowerInvariant()).GetInt32();
        }

        int size = Math.Max(1, instruction.MemorySize.GetSize());
        return (ea & SegmentLimit) + (uint)size > SegmentLimit + 1;
    }

    /// <summary>
    /// Steps the string instruction's iterations until one accesses a word at offset FFFFh (the source is read first), as
    /// REP would: SI/DI move by the element size in the direction of DF, CX counts down.
    /// </summary>
    private static ModelledFault? StringFault(in Instruction instruction, ushort[] registers, ushort flags, out string why)
    {
        why = string.Empty;
        int size = instruction.MemorySize.GetSize();
        bool usesSource = instruction.Mnemonic is Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Cmpsb or Mnemonic.Cmpsw
            or Mnemonic.Lodsb or Mnemonic.Lodsw or Mnemonic.Outsb or Mnemonic.Outsw;
        bool usesDestination = instruction.Mnemonic is Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Cmpsb or Mnemonic.Cmpsw
            or Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Insb or Mnemonic.Insw;
        bool repeated = instruction.HasRepPrefix || instruction.HasRepePrefix || instruction.HasRepnePrefix;
        const ushort directionFlag = 0x400;
        int step = (flags & directionFlag) != 0 ? -size : size;
        ushort[] state = (ushort[])registers.Clone();
        for (int iteration = 0; iteration <= SegmentLimit; iteration++)
        {
            if (repeated && state[1] == 0)
            {
                break;
            }

            bool sourceFaults = usesSource && size > 1 && state[6] == SegmentLimit;
            bool destinationFaults = usesDestination && size > 1 && state[7] == SegmentLimit;
            if (sourceFaults || destinationFaults)
            {
                int vector = sourceFaults && instruction.MemorySegment == Register.SS ? StackFault : GeneralProtection;
                return new ModelledFault(vector, state, flags, iteration);
            }

            if (!repeated)
            {
                break;
            }

            state[6] = usesSource ? (ushort)(state[6] + step) : state[6];
            state[7] = usesDestination ? (ushort)(state[7] + step) : state[7];
            state[1]--;
        }

        why = "the model finds no iteration that crosses offset FFFFh";
        return null;
    }
}
