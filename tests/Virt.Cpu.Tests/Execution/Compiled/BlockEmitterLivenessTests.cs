using Virt.Cpu.Decoding;
using Xunit;
using Parts = Virt.Cpu.BlockEmitter.FlagParts;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// The compiled tier's flag liveness (src/Virt.Cpu/Execution/Compiled/BlockEmitter.Liveness.cs): which parts of each
/// producer's lazy-flag record a later reader (a Jcc, INC/DEC, an interpreter call, the exit) needs.
/// </summary>
public sealed class BlockEmitterLivenessTests
{
    [Fact]
    public void A_record_overwritten_before_any_reader_is_dead()
    {
        Parts[] needed = Liveness(Alu(Op.AddRegister), Alu(Op.SubRegister), Alu(Op.CmpRegister), Jcc());
        Assert.Equal([Parts.None, Parts.None, Parts.All, Parts.None], needed);
    }

    [Fact]
    public void A_logic_record_leaves_the_previous_operands_live()
    {
        // AND writes LazyOp, LazyRes and LazySize only: the ADD's LazyDst and LazySrc are what the exit shows.
        Assert.Equal([Parts.Operands, Parts.Result], Liveness(Alu(Op.AddRegister), Alu(Op.AndRegister)));
        Assert.Equal([Parts.None, Parts.Result], Liveness(Alu(Op.XorRegister), Alu(Op.OrRegister)));
    }

    [Fact]
    public void Moves_and_lea_let_the_record_through_to_the_exit()
    {
        Assert.Equal(Parts.All, Liveness(Alu(Op.AddRegister), Alu(Op.MovRegister), Lea())[0]);
    }

    [Fact]
    public void Inc_and_dec_read_the_previous_record()
    {
        Parts[] needed = Liveness(Alu(Op.SubRegister), IncDec(Op.IncRegister), IncDec(Op.DecRegister), Alu(Op.TestRegister));
        Assert.Equal([Parts.All, Parts.All, Parts.Operands, Parts.Result], needed);
    }

    [Fact]
    public void Interpreter_calls_and_forms_not_generated_inline_read_everything()
    {
        var load = new DecodedInstruction { Op = Op.Load32, OpSize = 4, Kind0 = OperandKind.Register, Kind1 = OperandKind.Memory, Length = 3 };
        DecodedInstruction add8 = Alu(Op.AddRegister);
        add8.OpSize = 1;
        Assert.Equal(Parts.All, Liveness(Alu(Op.AddRegister), load, Alu(Op.AddRegister))[0]);
        Assert.Equal(Parts.All, Liveness(Alu(Op.AddRegister), add8, Alu(Op.AddRegister))[0]);
    }

    private static Parts[] Liveness(params DecodedInstruction[] instructions) => BlockEmitter.ComputeFlagLiveness(instructions, instructions.Length);

    private static DecodedInstruction Alu(Op op) => new() { Op = op, OpSize = 4, Kind0 = OperandKind.Register, Kind1 = OperandKind.Register, Length = 2 };

    private static DecodedInstruction IncDec(Op op) => new() { Op = op, OpSize = 4, Kind0 = OperandKind.Register, Length = 1 };

    private static DecodedInstruction Lea() => new() { Op = Op.Lea, OpSize = 4, AddrSize = 4, Kind0 = OperandKind.Register, Kind1 = OperandKind.Memory, Base = 0, Index = DecodedInstruction.NoRegister, Length = 3 };

    private static DecodedInstruction Jcc() => new() { Op = Op.Jcc, OpSize = 4, Cond = 4, Length = 2 };
}
