using System.Text.Json;
using Iced.Intel;

namespace Virt.Cpu.Tests.Conformance;

/// <summary>
/// Where the 80286 (the CPU the SingleStepTests suite captured) and the Pentium Pro class CPU we model legitimately differ.
/// Every entry says why, citing the Intel SDM. Cases whose reason is in <see cref="Modelled"/> still run, against the state
/// the modelled CPU must reach (<see cref="Sst286FaultModel"/>); the others are counted as excluded, not run.
/// </summary>
internal static class Sst286Exclusions
{
    /// <summary>Whole test files (opcode, or opcode.reg for group opcodes) excluded, with the reason.</summary>
    public static readonly IReadOnlyDictionary<string, string> Files = new Dictionary<string, string>
    {
        // Nothing yet: entries are added only with a cited reason.
    };

    private static readonly HashSet<Mnemonic> s_lockable =
    [
        Mnemonic.Add, Mnemonic.Adc, Mnemonic.And, Mnemonic.Btc, Mnemonic.Btr, Mnemonic.Bts, Mnemonic.Cmpxchg, Mnemonic.Cmpxchg8b,
        Mnemonic.Dec, Mnemonic.Inc, Mnemonic.Neg, Mnemonic.Not, Mnemonic.Or, Mnemonic.Sbb, Mnemonic.Sub, Mnemonic.Xor, Mnemonic.Xadd, Mnemonic.Xchg,
    ];

    /// <summary>
    /// Reasons whose cases run with the modelled CPU's expectation instead of the 286's final state: LOCK on a non-lockable
    /// instruction is #UD; a faulting string instruction and a faulting POP r/m leave SI/DI/CX and SP as they were at the
    /// start of the faulting iteration and push the address of the first prefix; AAM 0 is #DE with FLAGS unchanged.
    /// </summary>
    public static readonly IReadOnlySet<string> Modelled = new HashSet<string>(StringComparer.Ordinal) { "lock", "string-fault", "pop-fault", "aam0-flags" };

    /// <summary>Individual cases the 286's final state cannot judge, with the reason; null when the test must pass as captured.</summary>
    /// <param name="test">One test of the suite.</param>
    /// <returns>The reason, or null.</returns>
    public static string? ExcludedCase(JsonElement test)
    {
        byte[] bytes = [.. test.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32())];
        var decoder = Decoder.Create(16, new ByteArrayCodeReader(bytes), DecoderOptions.NoInvalidCheck);
        decoder.Decode(out Instruction instruction);
        if (instruction.HasLockPrefix && (instruction.Op0Kind != OpKind.Memory || !s_lockable.Contains(instruction.Mnemonic)))
        {
            // Intel SDM Vol. 2A, LOCK: since the 386, LOCK on any other instruction (or with a register destination) is #UD.
            // The 286 accepts LOCK on every instruction and just asserts LOCK# on the bus.
            return "lock";
        }

        if (instruction.Length > 10 && IsGeneralProtection(test))
        {
            // The 286 limits an instruction (prefixes included) to 10 bytes and raises #GP beyond; the 386 and later allow
            // 15 bytes (Intel SDM Vol. 2A, 2.3.11 "AVX Instruction Length"/2.1: "the maximum length of an instruction is 15 bytes").
            return "length";
        }

        for (int i = 0; i < instruction.OpCount; i++)
        {
            if (instruction.GetOpKind(i) == OpKind.Register && instruction.GetOpRegister(i) is Register.FS or Register.GS)
            {
                // FS and GS arrived with the 386 (Intel SDM Vol. 1, 3.4.2); on the 286 8C/8E with reg 4/5 is #UD.
                return "fs-gs";
            }
        }

        bool faults = test.TryGetProperty("exception", out JsonElement expected);
        if (!faults && IsX87WrappingOperand(test, instruction))
        {
            // An x87 memory operand that runs past offset FFFFh: the 286 hands the operand to the coprocessor as separate word
            // transfers that wrap within the segment; the 386 and later raise #GP for an operand beyond the segment limit
            // (Intel SDM Vol. 2A, FADD "Real-Address Mode Exceptions": "#GP If a memory operand effective address is outside
            // the CS, DS, ES, FS, or GS segment limit").
            return "fpu-wrap";
        }

        if (faults && instruction.Mnemonic == Mnemonic.Pop && instruction.Op0Kind == OpKind.Memory)
        {
            // POP r/m whose memory destination faults: the 286 has already incremented SP; the 386 and later report the fault
            // with SP unchanged so the instruction restarts (Intel SDM Vol. 3A, 6.5: a fault reports the state before the instruction).
            return "pop-fault";
        }

        if (faults && instruction.Mnemonic == Mnemonic.Aam && expected.GetProperty("number").GetInt32() == 0)
        {
            // AAM 0: the 286 updates SF/ZF/PF before raising #DE, so the pushed FLAGS differ; the 386 and later raise #DE
            // with FLAGS unchanged (Intel SDM Vol. 2A, AAM: "#DE If an immediate value of 0 is used"; 6.5 for fault state).
            return "aam0-flags";
        }

        if (instruction.IsStringInstruction && test.TryGetProperty("exception", out JsonElement exception)
            && exception.GetProperty("number").GetInt32() is 12 or 13)
        {
            // A string instruction whose word access straddles offset FFFFh: the 286 has already advanced (E)SI/(E)DI when it
            // raises #GP/#SS; the 386 and later fault with the registers unchanged, so the instruction can be restarted
            // (Intel SDM Vol. 3A, 6.5 "Exception Classifications": faults report the state before the instruction).
            return "string-fault";
        }

        return null;
    }

    private static bool IsX87WrappingOperand(JsonElement test, in Instruction instruction)
    {
        if (instruction.Mnemonic is Mnemonic.Wait || instruction.Op0Kind != OpKind.Memory || instruction.MemorySize.GetSize() <= 2
            || !instruction.ToString().StartsWith('f'))
        {
            return false;
        }

        JsonElement regs = test.GetProperty("initial").GetProperty("regs");
        uint ea = (uint)instruction.MemoryDisplacement64;
        if (instruction.MemoryBase != Register.None)
        {
            ea += (uint)regs.GetProperty(instruction.MemoryBase.ToString().ToLowerInvariant()).GetInt32();
        }

        if (instruction.MemoryIndex != Register.None)
        {
            ea += (uint)regs.GetProperty(instruction.MemoryIndex.ToString().ToLowerInvariant()).GetInt32();
        }

        return (ea & 0xFFFF) + (uint)instruction.MemorySize.GetSize() > 0x10000;
    }

    private static bool IsGeneralProtection(JsonElement test) =>
        test.TryGetProperty("exception", out JsonElement exception) && exception.GetProperty("number").GetInt32() == 13;

    /// <summary>
    /// Counted as excluded by the runner rather than listed here: an access through SS beyond its limit (a word at SS:FFFFh,
    /// a POP/POPA/RET with SP = FFFFh, [BP+...] addressing) is #SS(0) on the 386 and later (Intel SDM Vol. 2, "Real-Address
    /// Mode Exceptions": "#SS If a memory operand effective address is outside the SS segment limit"), while the 286 raises
    /// #GP(13). The runner routes vector 12 to the expected handler and accepts #SS only when the access really went through SS
    /// (<see cref="Sst286FaultModel.AccessGoesThroughSs"/>); a #GP where the access went through SS fails.
    /// </summary>
    public const string StackFaultVersusGeneralProtection = "ss-vs-gp";

    /// <summary>Metadata statuses whose tests are excluded.</summary>
    public static readonly IReadOnlyDictionary<string, string> Statuses = new Dictionary<string, string>
    {
        // Nothing: the ESC opcodes D8-DF (status "fpu") run since the x87 landed; see ExcludedCase and docs/conformance.md.
    };
}
