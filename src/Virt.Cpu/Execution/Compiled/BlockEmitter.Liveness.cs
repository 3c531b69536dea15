using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Flag liveness across the block: which parts of the lazy-flag record each generated flag producer must leave for a later
/// reader, so that a record overwritten before anything reads it is not produced at all.
/// </summary>
/// <remarks>
/// <para>
/// The record has two parts that live apart: the operation, result and size (every producer writes them) and the two
/// operands LazyDst/LazySrc (ADD, SUB, CMP, INC and DEC write them; the logic operations leave them as they were, see
/// Cpu.SetLogicFlags, so an ADD's operands outlive a later AND's record and stay visible at the exit).
/// </para>
/// <para>
/// Readers, conservatively, read the whole record: the block's exit and a taken branch's exit (the state is written back
/// there and must equal the interpreter's byte for byte), every call of the interpreter (the instruction may read the
/// flags, fault, or be observed by a hook), a Jcc (its condition, and its taken exit), and INC/DEC (which fold the previous
/// record's CF into EFLAGS). MOV, LEA and NOP neither read nor write the record. Whatever the emitter does not generate
/// itself is a call of the interpreter, hence a reader, so an instruction this analysis does not know is always safe.
/// The register forms of BlockEmitter.RegisterForms.cs give their own effect (RegisterFormEffect): a shift by an immediate
/// writes the result part as AND does, ADC and SBB read CF then write everything as INC does, NEG writes everything, NOT
/// and the moves nothing, and the rest (a shift by CL that may be 0, rotates, IMUL, bit tests, SETcc, CMOVcc) read.
/// </para>
/// </remarks>
internal sealed partial class BlockEmitter
{
    /// <summary>For each instruction, the parts of the record it produces that a later reader needs.</summary>
    private readonly FlagParts[] _flagsNeeded;

    /// <summary>The instruction being generated.</summary>
    private int _current;

    /// <summary>The parts of the lazy-flag record.</summary>
    [Flags]
    internal enum FlagParts : byte
    {
        /// <summary>Nothing of the record.</summary>
        None = 0,

        /// <summary>LazyOp, LazyRes and LazySize.</summary>
        Result = 1,

        /// <summary>LazyDst and LazySrc.</summary>
        Operands = 2,

        /// <summary>The whole record.</summary>
        All = Result | Operands,
    }

    /// <summary>What an instruction does to the lazy-flag record, as the emitter generates it.</summary>
    private enum FlagEffect : byte
    {
        /// <summary>Reads the whole record (or lets the state be observed): the exits, interpreter calls, Jcc.</summary>
        Reads,

        /// <summary>Leaves the record alone: MOV, LEA, NOP.</summary>
        None,

        /// <summary>Writes the whole record: ADD, SUB, CMP.</summary>
        WritesAll,

        /// <summary>Writes the operation, result and size, leaving the operands: AND, OR, XOR, TEST.</summary>
        WritesResult,

        /// <summary>Reads the previous record (its CF), then writes the whole record: INC, DEC.</summary>
        ReadsThenWritesAll,
    }

    /// <summary>
    /// The backward pass: starting from the exit (which reads everything), each instruction's produced parts are those live
    /// after it; a producer then kills what it writes and a reader makes everything live.
    /// </summary>
    /// <param name="instructions">The block's instructions.</param>
    /// <param name="count">How many of them the block holds.</param>
    /// <returns>For each instruction, the parts of its record that are read later (None for instructions that produce none).</returns>
    internal static FlagParts[] ComputeFlagLiveness(DecodedInstruction[] instructions, int count)
    {
        var needed = new FlagParts[count];
        FlagParts live = FlagParts.All;
        for (int i = count - 1; i >= 0; i--)
        {
            switch (EffectOf(in instructions[i]))
            {
                case FlagEffect.None:
                    break;
                case FlagEffect.WritesAll:
                    needed[i] = live;
                    live = FlagParts.None;
                    break;
                case FlagEffect.WritesResult:
                    needed[i] = live & FlagParts.Result;
                    live &= ~FlagParts.Result;
                    break;
                case FlagEffect.ReadsThenWritesAll:
                    needed[i] = live;
                    live = FlagParts.All;
                    break;
                default:
                    live = FlagParts.All;
                    break;
            }
        }

        return needed;
    }

    private static FlagEffect EffectOf(in DecodedInstruction d)
    {
        // Only the register and immediate forms are known not to fault: an instruction that may fault lets the previous
        // record be observed (by the exception handler, through the interpreter's state), so it is a reader.
        if (!IsInlined(in d) || (d.Op != Op.Lea && (d.Kind0 == OperandKind.Memory || d.Kind1 == OperandKind.Memory)))
        {
            return FlagEffect.Reads;
        }

        return d.Op switch
        {
            Op.Nop or Op.MovRegister or Op.Lea => FlagEffect.None,
            Op.AddRegister or Op.SubRegister or Op.CmpRegister => FlagEffect.WritesAll,
            Op.AndRegister or Op.OrRegister or Op.XorRegister or Op.TestRegister => FlagEffect.WritesResult,
            Op.IncRegister or Op.DecRegister => FlagEffect.ReadsThenWritesAll,
            _ => RegisterFormEffect(in d),
        };
    }
}
