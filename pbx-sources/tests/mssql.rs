//! The SQL Server site-table source against the TDS test double (`tests/tds`).

mod tds;

use tds::{SqlType, TdsDouble, Value};
use tokio_util::compat::TokioAsyncWriteCompatExt;

#[tokio::test]
async fn double_answers_tiberius() {
    let double = TdsDouble::start().await;
    double.create_table("dbo.cdr", &[("id", SqlType::BigInt), ("who", SqlType::NVarChar)]);
    for i in 1..=5 {
        double.insert("dbo.cdr", vec![Value::Int(i), Value::Text(format!("n{i}"))]);
    }
    let config = tiberius::Config::from_ado_string(&double.ado_url()).unwrap();
    let tcp = tokio::net::TcpStream::connect(config.get_addr()).await.unwrap();
    let mut client = tiberius::Client::connect(config, tcp.compat_write()).await.unwrap();
    let rows = client
        .query("SELECT TOP (@P1) [id], [who] FROM [dbo].[cdr] WHERE [id] > @P2 ORDER BY [id]", &[&2i64, &1i64])
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let got: Vec<(i64, String)> = rows.iter().map(|r| (r.get::<i64, _>(0).unwrap(), r.get::<&str, _>(1).unwrap().to_owned())).collect();
    assert_eq!(got, [(2, "n2".to_owned()), (3, "n3".to_owned())]);
    println!("{:?}", double.requests());
}
